import { sql } from 'kysely';
import type { Queryable, Store } from './store.ts';

/** The schema a PostgreSQL store works in (its `search_path`). */
export async function currentSchema(store: Store): Promise<string> {
  const row = (await sql<{ schema: string }>`select current_schema() as schema`.execute(store.db)).rows[0];
  return row?.schema ?? 'public';
}

/** PostgreSQL NOTIFY on a channel; inside a transaction it is sent on commit. */
export async function notify(db: Queryable, channel: string, payload: string): Promise<void> {
  await sql`select pg_notify(${channel}, ${payload})`.execute(db);
}
