import { sql } from 'kysely';
import type { Queryable, Store } from './store.ts';

/**
 * Writes to counters only (rate windows, baselines). They stay atomic and shared by every
 * replica, but on PostgreSQL they do not wait for the WAL flush (`synchronous_commit = off` for
 * this transaction only): a database crash may forget the last fraction of a second of counts,
 * which can at worst let a few calls more through a rate window or under-count a baseline. Budgets
 * and approvals never go through here: their commits are always durable.
 * @see https://www.postgresql.org/docs/current/wal-async-commit.html
 */
export async function writeCounters<T>(store: Store, work: (db: Queryable) => Promise<T>): Promise<T> {
  if (store.dialect !== 'postgres') return work(store.db);
  return store.transaction(async (trx) => {
    await sql`SET LOCAL synchronous_commit = off`.execute(trx);
    return work(trx);
  });
}
