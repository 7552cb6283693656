import { sql } from 'kysely';
import type { Queryable, Store } from './store.ts';

/**
 * Serialize a piece of work across processes sharing the database, until the transaction ends:
 * a PostgreSQL advisory lock per schema and name. SQLite has one writer at a time already.
 */
export async function lockInTransaction(store: Store, trx: Queryable, name: string): Promise<void> {
  if (store.dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtext(current_schema() || ${`:${name}`}))`.execute(trx);
}
