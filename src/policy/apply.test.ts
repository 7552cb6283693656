import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyPolicyDir, watchPolicyDir } from './apply.ts';
import { Authorizer } from './authorizer.ts';
import { requestWith } from './example-request.ts';

const permitAll = '@id("all")\npermit (principal, action, resource);\n';
const forbidProd =
  '@id("no-prod")\nforbid (principal, action, resource) when { context.environment == "prod" };\n';

describe('applying the policy directory', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mandate-policy-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('swaps in a valid set and reports both versions', async () => {
    const authorizer = new Authorizer();
    await writeFile(join(dir, 'all.cedar'), permitAll);
    const applied = await applyPolicyDir(authorizer, dir);
    expect(applied.changed).toBe(true);
    expect(authorizer.version).toBe(applied.version);
    expect(authorizer.decide(requestWith({})).decision).toBe('allow');
    expect((await applyPolicyDir(authorizer, dir)).changed).toBe(false);
  });

  it('keeps the running set when the directory holds an invalid one, and says where', async () => {
    const authorizer = new Authorizer();
    await writeFile(join(dir, 'all.cedar'), permitAll);
    const running = (await applyPolicyDir(authorizer, dir)).version;
    await writeFile(
      join(dir, 'broken.cedar'),
      'forbid (principal, action, resource) when { context.risk >> 3 };',
    );
    await expect(applyPolicyDir(authorizer, dir)).rejects.toMatchObject({
      code: 'ERR_POLICY_INVALID',
      details: [
        expect.objectContaining({
          path: expect.stringMatching(/^broken\.cedar:1:\d+$/),
        }),
      ],
    });
    expect(authorizer.version).toBe(running);
    expect(authorizer.decide(requestWith({})).decision).toBe('allow');
  });

  it('reloads on file change, and rejects an invalid change without replacing the set', async () => {
    const authorizer = new Authorizer();
    await writeFile(join(dir, 'all.cedar'), permitAll);
    await applyPolicyDir(authorizer, dir);
    const events: string[] = [];
    const settled = () => new Promise((resolve) => setTimeout(resolve, 400));
    const watching = watchPolicyDir(authorizer, dir, {
      debounceMs: 20,
      onApplied: (a) => events.push(`applied ${a.version}`),
      onRejected: (e) => events.push(`rejected ${(e as { code: string }).code}`),
    });
    try {
      await writeFile(join(dir, 'prod.cedar'), forbidProd);
      await settled();
      expect(events).toEqual([`applied ${authorizer.version}`]);
      expect(authorizer.decide(requestWith({})).policies).toEqual(['no-prod']);
      await writeFile(join(dir, 'prod.cedar'), 'forbid (principal, action, resource) when { context.nope };');
      await settled();
      expect(events.at(-1)).toBe('rejected ERR_POLICY_INVALID');
      expect(authorizer.decide(requestWith({})).policies).toEqual(['no-prod']);
    } finally {
      watching.close();
    }
  });
});
