import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/schema.ts';
import { MandateError } from '../errors.ts';
import { loadMasterKey, type MasterKey } from '../identity/master-key.ts';
import { seal, sealedKeyId, unseal } from '../identity/seal.ts';
import { rewrapSigningKeys } from '../identity/signing-keys.ts';
import { rewrapSinkKeys } from '../notify/sinks.ts';
import { rewrapTrailSinkSecrets } from '../stream/sinks.ts';
import { openStore } from '../store/open.ts';
import { databaseRolesRepository } from '../store/repositories/database-roles.ts';
import type { Queryable } from '../store/store.ts';
import { sealContext } from './postgres/database-broker.ts';
import { rewrapSecrets } from './secrets.ts';

/** Re-seal the passwords of live mandate database roles under a new master key; returns how many moved. */
export async function rewrapRolePasswords(db: Queryable, from: MasterKey, to: MasterKey): Promise<number> {
  const roles = databaseRolesRepository(db);
  const rows = await roles.list();
  let moved = 0;
  for (const row of rows) {
    if (sealedKeyId(row.password_sealed) === to.id) continue;
    const context = sealContext(row.connection, row.jti);
    const password_sealed = seal(to, unseal(from, row.password_sealed, context), context);
    await roles.setPassword(row.connection, row.jti, password_sealed);
    moved++;
  }
  return moved;
}

/**
 * `mandate secret rewrap`: after a master key rotation, open the store directly (the server is
 * stopped: a running one still seals with the old key) and move every value sealed under the old
 * key (secrets, database role passwords, sink signing keys, the control plane's signing keys) to the new one, in one transaction, so a failure leaves everything as it was.
 */
export async function rewrapStore(config: Config, oldKeyFile: string, newKeyFile: string): Promise<{ secrets: number; database_roles: number; sink_keys: number; signing_keys: number; master_key_id: string }> {
  const from = loadMasterKey({ file: oldKeyFile, create: false }).key;
  const to = loadMasterKey({ file: newKeyFile, create: false }).key;
  if (from.id === to.id) throw new MandateError('ERR_MASTER_KEY', 'the old and new master keys are the same key');
  if (!config.databaseUrl && !fs.existsSync(path.join(config.dataDir, 'mandate.db'))) {
    throw new MandateError('ERR_STORE_CONFIG', `no Mandate store in ${config.dataDir} (give --data-dir)`);
  }
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    return await store.transaction(async (trx) => ({
      secrets: await rewrapSecrets(trx, from, to, new Date()),
      database_roles: await rewrapRolePasswords(trx, from, to),
      sink_keys: (await rewrapSinkKeys(trx, from, to, new Date())) + (await rewrapTrailSinkSecrets(trx, from, to, new Date())),
      signing_keys: await rewrapSigningKeys(trx, from, to),
      master_key_id: to.id,
    }));
  } finally {
    await store.close();
  }
}
