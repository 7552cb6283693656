import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.ts';

export type Dialect = 'sqlite' | 'postgres';

/**
 * An open database, SQLite or PostgreSQL. Components never query it themselves: they hand `db`
 * (or the `trx` of a `transaction`) to the repositories in `./repositories`, which alone build
 * queries; multi-statement changes go through `transaction` so a failed request writes nothing.
 * `dialect` names the database only; one process or replicas is the `deployment` setting.
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
