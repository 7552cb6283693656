import fs from 'node:fs';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import { MandateError } from '../errors.ts';
import { quietPool } from './open.ts';
import type { Database } from './schema.ts';

export interface ExistingDatabase {
  db: Kysely<Database>;
  /** Where it is, without credentials. */
  where: string;
  close(): Promise<void>;
}

/**
 * A database as it is, for investigators: no migration runs and, for SQLite, the file is opened
 * read-only, so reading a copy never changes the evidence.
 */
export function openExistingDatabase(options: { dataDir?: string | undefined; databaseUrl?: string | undefined }): ExistingDatabase {
  let db: Kysely<Database>;
  let where: string;
  if (options.databaseUrl) {
    const pool = quietPool({ connectionString: options.databaseUrl, max: 2, connectionTimeoutMillis: 5000 });
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    where = options.databaseUrl.replace(/\/\/[^@/]*@/, '//');
  } else {
    const file = path.resolve(options.dataDir ?? '.mandate', 'mandate.db');
    if (!fs.existsSync(file)) throw new MandateError('ERR_AUDIT_NO_DATABASE', `no Mandate database at ${file}`);
    let database = new Sqlite(file, { readonly: true, fileMustExist: true });
    try {
      database.prepare('select count(*) from sqlite_master').get();
    } catch {
      // A copy taken with its -wal file but without -shm is readable only by a writable connection.
      database.close();
      database = new Sqlite(file, { fileMustExist: true });
    }
    db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
    where = file;
  }
  return { db, where, close: () => db.destroy() };
}
