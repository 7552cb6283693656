import path from 'node:path';
import type { Config } from '../config/schema.ts';
import { loadMasterKey, type MasterKey } from '../identity/master-key.ts';
import { activeSigningKey, createSigningKey } from '../identity/signing-keys.ts';
import { openStore } from '../store/open.ts';
import { seedPolicySet } from '../policy/runtime.ts';
import { argsSchema } from './args-schema.ts';
import { lockInTransaction } from '../store/locks.ts';
import { initSetting } from '../store/settings.ts';
import type { Queryable, Store } from '../store/store.ts';
import { countAdminTokens, createAdminToken } from './admin-tokens.ts';

export interface Prepared {
  store: Store;
  masterKey: MasterKey;
  trustDomain: string;
  /** The first admin token, present only when this call created it: show it once. */
  adminToken?: string;
  createdMasterKey: boolean;
}

/**
 * First-start set-up, idempotent on later starts: master key (file 0600 unless given by env),
 * database and migrations, trust domain, the first signing key, the running policy set, and the
 * first admin token (unless the caller mints it later, see `mintFirstAdminToken`).
 */
export async function prepare(
  config: Config,
  now: Date = new Date(),
  pgSchema?: string,
  options: { mintAdminToken?: boolean } = {},
): Promise<Prepared> {
  const { key: masterKey, created: createdMasterKey } = loadMasterKey({
    value: config.masterKey,
    file: config.masterKeyFile ?? path.join(config.dataDir, 'master.key'),
    create: true,
  });
  const store = await openStore({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    ...(pgSchema ? { pgSchema } : {}),
  });
  try {
    const result = await store.transaction(async (trx) => {
      await preparationLock(store, trx);
      await seedPolicySet(trx, config.deployment, config.dataDir, now, await argsSchema(trx));
      const trustDomain = await initSetting(trx, 'trust_domain', config.trustDomain);
      if (!(await activeSigningKey(trx, masterKey))) await createSigningKey(trx, masterKey, now);
      return { trustDomain };
    });
    const adminToken = options.mintAdminToken === false ? undefined : await mintFirstAdminToken(store, now);
    return { store, masterKey, createdMasterKey, ...result, ...(adminToken ? { adminToken } : {}) };
  } catch (error) {
    await store.close();
    throw error;
  }
}

// Replicas starting together on an empty database: one creates the key, token and policy set.
async function preparationLock(store: Store, trx: Queryable) {
  await lockInTransaction(store, trx, 'mandate-prepare');
}

/**
 * The first admin token, created only while none exists; returns it once, else undefined.
 * `serve` calls this after it is listening, so a start that cannot bind its port spends nothing.
 */
export async function mintFirstAdminToken(store: Store, now: Date): Promise<string | undefined> {
  return store.transaction(async (trx) => {
    await preparationLock(store, trx);
    if ((await countAdminTokens(trx)) > 0) return undefined;
    return (await createAdminToken(trx, { name: 'initial admin', role: 'admin', now })).token;
  });
}
