// Open an audit database directly (a copied SQLite file, a PostgreSQL URL) for investigators
import fs from 'node:fs';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { MandateError } from '../errors.ts';
import { loadMasterKey } from '../identity/master-key.ts';
import { type ExistingDatabase, openExistingDatabase } from '../store/open-existing.ts';
import { auditLogRepository } from '../store/repositories/audit-log.ts';
import type { Database } from '../store/schema.ts';
import { getSetting } from '../store/settings.ts';
import { auditOrigin, deriveCheckpointKey, verifiersFrom } from '../audit/checkpoint-key.ts';
import type { NoteVerifier } from '../audit/note.ts';

export type AuditDatabase = ExistingDatabase;

/**
 * The database as it is: no migration runs and, for SQLite, the file is opened read-only, so
 * verifying a copy never changes the evidence. A database without the audit tables is refused.
 */
export async function openAuditDatabase(options: { dataDir?: string | undefined; databaseUrl?: string | undefined }): Promise<AuditDatabase> {
  const opened = openExistingDatabase(options);
  try {
    await auditLogRepository(opened.db).head();
  } catch (cause) {
    await opened.close();
    throw new MandateError('ERR_AUDIT_NO_DATABASE', `${opened.where} holds no Mandate audit log`, { cause });
  }
  return opened;
}

/**
 * The keys to trust for checkpoints: the verifier keys given (pinned), else the one derived from
 * the master key (MANDATE_MASTER_KEY, MANDATE_MASTER_KEY_FILE or `<data dir>/master.key`) and the
 * trust domain stored with the log. Empty when neither is at hand.
 */
export async function trustedCheckpointKeys(
  db: Kysely<Database>,
  options: { vkeys?: readonly string[]; dataDir?: string | undefined; env?: NodeJS.ProcessEnv },
): Promise<{ trusted: NoteVerifier[]; origin: string | undefined; source: 'vkey' | 'master key' | 'none' }> {
  const trustDomain = await getSetting(db, 'trust_domain');
  const origin = trustDomain ? auditOrigin(trustDomain) : undefined;
  if (options.vkeys && options.vkeys.length > 0) {
    const trusted = verifiersFrom(options.vkeys);
    return { trusted, origin: trusted[0]?.name ?? origin, source: 'vkey' };
  }
  const env = options.env ?? process.env;
  const file = env.MANDATE_MASTER_KEY_FILE || path.join(options.dataDir ?? env.MANDATE_DATA_DIR ?? '.mandate', 'master.key');
  if (!trustDomain || (!env.MANDATE_MASTER_KEY && !fs.existsSync(file))) return { trusted: [], origin, source: 'none' };
  const { key } = loadMasterKey({ value: env.MANDATE_MASTER_KEY, file, create: false });
  return { trusted: [deriveCheckpointKey(key.bytes, trustDomain).verifier], origin, source: 'master key' };
}
