import type { ConnectionsTable } from '../schema.ts';
import type { Queryable } from '../store.ts';

export type ConnectionRow = ConnectionsTable;

/** Connection specs of the upstream APIs and databases the broker reaches, as JSON. */
export interface ConnectionsRepository {
  find(name: string): Promise<ConnectionRow | undefined>;
  /** Ordered by name. */
  list(): Promise<ConnectionRow[]>;
  insert(row: ConnectionRow): Promise<void>;
  replaceSpec(name: string, spec: string, at: string): Promise<void>;
  /** False when there was no such server. */
  remove(name: string): Promise<boolean>;
}

export function connectionsRepository(db: Queryable): ConnectionsRepository {
  return {
    find: (name) => db.selectFrom('connections').selectAll().where('name', '=', name).executeTakeFirst(),
    list: () => db.selectFrom('connections').selectAll().orderBy('name').execute(),
    insert: async (row) => {
      await db.insertInto('connections').values(row).execute();
    },
    replaceSpec: async (name, spec, at) => {
      await db.updateTable('connections').set({ spec, updated_at: at }).where('name', '=', name).execute();
    },
    remove: async (name) => {
      const result = await db.deleteFrom('connections').where('name', '=', name).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}
