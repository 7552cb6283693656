import fs from 'node:fs';
import path from 'node:path';
import type { Deployment } from '../config/schema.ts';
import type { Queryable, Store } from '../store/store.ts';
import { MandateError } from '../errors.ts';
import { Authorizer } from './authorizer.ts';
import { loadPolicyDir } from './policy-dir.ts';
import type { Schema } from './schema.ts';
import { STARTER_DIR } from './starter.ts';
import { loadStoredPolicySet, recordPolicySet, runningPolicySet } from './stored.ts';

export const policyDirOf = (dataDir: string) => path.join(dataDir, 'policies');

/** `<data dir>/policies`, created with the starter policies when missing. */
export function ensurePolicyDir(dataDir: string): string {
  const dir = policyDirOf(dataDir);
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const file of fs.readdirSync(STARTER_DIR)) {
      if (file.endsWith('.cedar')) fs.copyFileSync(path.join(STARTER_DIR, file), path.join(dir, file));
    }
  }
  return dir;
}

/**
 * Makes sure the database holds a running policy set, at start.
 * - single (one process): the policy directory is the source; files edited while the server was
 *   stopped become the running set.
 * - replicated (replicas over PostgreSQL): the database is the source once it holds a set; a replica's directory
 *   only seeds an empty database, so a replica started with stale files cannot roll policy back.
 * An invalid directory refuses to start rather than deny everything silently.
 */
export async function seedPolicySet(db: Queryable, deployment: Deployment, dataDir: string, now: Date, schema?: Schema): Promise<void> {
  const stored = await runningPolicySet(db);
  if (stored && deployment === 'replicated') return;
  const dir = ensurePolicyDir(dataDir);
  const set = await loadPolicyDir(dir, schema ? { schema } : {});
  if (stored?.version === set.version) return;
  await recordPolicySet(db, set, `policy files in ${dir}`, now);
}

/** The authorizer over the running set in the database, `context.args` typed by `schema`. */
export async function openAuthorizer(store: Store, now: () => Date, schema?: Schema): Promise<Authorizer> {
  const stored = await runningPolicySet(store.db);
  if (!stored) throw new MandateError('ERR_POLICY_MISSING', 'the database holds no policy set');
  return new Authorizer(loadStoredPolicySet(stored, schema), { now });
}
