import type { RefusedClientsTable } from '../schema.ts';
import type { Queryable } from '../store.ts';

export type RefusedClientRow = RefusedClientsTable;

/** Refused attempts at the enforcement points, one row per source (address and User-Agent), kind, resource and code. */
export interface RefusedClientsRepository {
  /** Add `attempts` to the group's count (creating it), moving `last_seen`. */
  add(row: RefusedClientRow): Promise<void>;
  /** Groups seen at or after `since`, most attempts first. */
  since(since: string, limit: number): Promise<RefusedClientRow[]>;
}

export function refusedClientsRepository(db: Queryable): RefusedClientsRepository {
  return {
    add: async (row) => {
      await db
        .insertInto('refused_clients')
        .values(row)
        .onConflict((oc) =>
          oc.columns(['source', 'user_agent', 'kind', 'resource', 'code']).doUpdateSet((eb) => ({
            attempts: eb('refused_clients.attempts', '+', eb.ref('excluded.attempts')),
            last_seen: eb.ref('excluded.last_seen'),
          })),
        )
        .execute();
    },
    since: async (since, limit) =>
      (await db.selectFrom('refused_clients').selectAll().where('last_seen', '>=', since).orderBy('attempts', 'desc').orderBy('source').limit(limit).execute()).map((r) => ({ ...r, attempts: Number(r.attempts) })),
  };
}
