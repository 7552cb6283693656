import fs from 'node:fs';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import { Migrator } from 'kysely/migration';
import pg from 'pg';
import { MandateError } from '../errors.ts';
import { migrationProvider } from './migrations/index.ts';
import type { Database } from './schema.ts';
import type { Dialect, Store } from './store.ts';

export interface OpenStoreOptions {
  /** `postgres://…` selects PostgreSQL; otherwise SQLite at `<dataDir>/mandate.db`. */
  databaseUrl?: string | undefined;
  dataDir: string;
  /** PostgreSQL schema to use (created when missing); tests use one each. */
  pgSchema?: string;
  poolSize?: number;
}

export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const store = options.databaseUrl ? await openPostgres(options) : openSqlite(options.dataDir);
  try {
    await migrate(store.db, store.dialect);
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

function openSqlite(dataDir: string): Store {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, 'mandate.db');
  const database = new Sqlite(file);
  fs.chmodSync(file, 0o600);
  database.pragma('journal_mode = WAL');
  // WAL with NORMAL: a commit survives the process being killed (what the crash tests prove); a
  // power loss may lose the last transactions. FULL costs ~5 ms per commit on common disks.
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(database) }) });
  return makeStore('sqlite', db, async () => {
    await db.destroy();
  });
}

const STATEMENT_CACHE = 500;

/**
 * Kysely prepares every query afresh; preparing costs more than running most of ours. Statements
 * are reused by SQL text (queries are parameterized, so the texts are few), least recently used
 * dropped past a bound. Safe because kysely runs each statement to completion synchronously.
 */
function withStatementCache(database: Sqlite.Database): { prepare(sql: string): Sqlite.Statement; close(): void } {
  const cache = new Map<string, Sqlite.Statement>();
  return {
    prepare(text: string) {
      let statement = cache.get(text);
      if (statement) {
        cache.delete(text);
      } else {
        statement = database.prepare(text);
        if (cache.size >= STATEMENT_CACHE) cache.delete(cache.keys().next().value!);
      }
      cache.set(text, statement);
      return statement;
    },
    close: () => {
      cache.clear();
      database.close();
    },
  };
}

async function openPostgres(options: OpenStoreOptions): Promise<Store> {
  const schema = options.pgSchema;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new MandateError('ERR_STORE_CONFIG', 'invalid PostgreSQL schema name');
  }
  const config: pg.PoolConfig = {
    connectionString: options.databaseUrl,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: 5000,
  };
  if (schema) {
    const admin = new pg.Client({ connectionString: options.databaseUrl });
    await admin.connect();
    try {
      await admin.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    } finally {
      await admin.end();
    }
    config.options = `-c search_path=${schema}`;
  }
  const pool = quietPool(config);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return makeStore('postgres', db, async () => {
    await db.destroy();
  });
}

/**
 * A pool whose clients never crash the process when their connection dies (the database restarts,
 * a network blip): idle clients are dropped by the pool; a client checked out inside a transaction
 * fails its queries, which report the error, and is discarded on release.
 */
export function quietPool(config: pg.PoolConfig): pg.Pool {
  const pool = new pg.Pool(config);
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

function makeStore(dialect: Dialect, db: Kysely<Database>, close: () => Promise<void>): Store {
  let closed = false;
  return {
    dialect,
    db,
    transaction: (work) => db.transaction().execute(work),
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await close();
    },
  };
}

async function migrate(db: Kysely<Database>, dialect: Dialect): Promise<void> {
  // Kysely looks for its migration tables in every schema it can see: name ours explicitly, or a
  // neighbour's tables (another deployment, another test) would be taken for ours.
  const schema =
    dialect === 'postgres' ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(db)).rows[0]?.schema : undefined;
  const migrator = new Migrator({ db, provider: migrationProvider, ...(schema ? { migrationTableSchema: schema } : {}) });
  let { error, results } = await migrator.migrateToLatest();
  // Kysely's check for its own tables lists the tables of every schema; PostgreSQL answers 42P01
  // (or 3F000 from a parallel worker) when another schema is dropped during that listing. Nothing
  // was migrated then: ask again.
  const dropped = (e: unknown) => ['42P01', '3F000'].includes(String((e as { code?: unknown }).code));
  for (let attempt = 1; attempt < 4 && error && !results?.length && dropped(error); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    ({ error, results } = await migrator.migrateToLatest());
  }
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new MandateError('ERR_STORE_MIGRATION', `migration ${failed} failed`, { cause: error });
  }
}
