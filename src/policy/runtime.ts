import fs from 'node:fs';
import path from 'node:path';
import { Authorizer } from './authorizer.ts';
import { loadPolicyDir } from './policy-dir.ts';
import { STARTER_DIR } from './starter.ts';

/**
 * The running policy set of a server: `.cedar` files in `<data dir>/policies`, seeded with the
 * starter policies on first start. An invalid directory refuses to start rather than deny
 * everything silently.
 */
export async function openAuthorizer(dataDir: string, now: () => Date): Promise<{ authorizer: Authorizer; dir: string }> {
  const dir = path.join(dataDir, 'policies');
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const file of fs.readdirSync(STARTER_DIR)) {
      if (file.endsWith('.cedar')) fs.copyFileSync(path.join(STARTER_DIR, file), path.join(dir, file));
    }
  }
  return { authorizer: new Authorizer(await loadPolicyDir(dir), { now }), dir };
}
