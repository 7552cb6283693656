import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.ts';

export type Dialect = 'sqlite' | 'postgres';

/**
 * The storage port every component uses: one typed query layer (kysely) over SQLite or
 * PostgreSQL. Components write portable queries against `db`; multi-statement changes go
 * through `transaction` so a failed request writes nothing.
 */
export interface Store {
  readonly dialect: Dialect;
  readonly db: Kysely<Database>;
  transaction<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T>;
  /** Round-trip to the database; throws when it is unreachable. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type Queryable = Kysely<Database> | Transaction<Database>;
