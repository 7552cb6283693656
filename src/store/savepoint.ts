import { sql } from 'kysely';
import type { Queryable } from './store.ts';

/**
 * Runs `work` inside a transaction so that, should it throw, only its own writes are undone and
 * the transaction goes on (SQL `SAVEPOINT`, on SQLite and PostgreSQL alike). `trx` must be a
 * transaction; the error is rethrown after the rollback.
 */
export async function inSavepoint<T>(trx: Queryable, work: (db: Queryable) => Promise<T>): Promise<T> {
  await sql`savepoint mandate_item`.execute(trx);
  let result: T;
  try {
    result = await work(trx);
  } catch (error) {
    await sql`rollback to savepoint mandate_item`.execute(trx);
    await sql`release savepoint mandate_item`.execute(trx);
    throw error;
  }
  await sql`release savepoint mandate_item`.execute(trx);
  return result;
}
