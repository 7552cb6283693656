import type { A2aPeersTable } from '../schema.ts';
import type { Queryable } from '../store.ts';

export type A2aPeerRow = A2aPeersTable;

/** Specs of the A2A peers Mandate fronts at `/a2a/<name>`, as JSON. */
export interface A2aPeersRepository {
  find(name: string): Promise<A2aPeerRow | undefined>;
  /** Ordered by name. */
  list(): Promise<A2aPeerRow[]>;
  insert(row: A2aPeerRow): Promise<void>;
  replaceSpec(name: string, spec: string, at: string): Promise<void>;
  /** False when there was no such peer. */
  remove(name: string): Promise<boolean>;
}

export function a2aPeersRepository(db: Queryable): A2aPeersRepository {
  return {
    find: (name) => db.selectFrom('a2a_peers').selectAll().where('name', '=', name).executeTakeFirst(),
    list: () => db.selectFrom('a2a_peers').selectAll().orderBy('name').execute(),
    insert: async (row) => {
      await db.insertInto('a2a_peers').values(row).execute();
    },
    replaceSpec: async (name, spec, at) => {
      await db.updateTable('a2a_peers').set({ spec, updated_at: at }).where('name', '=', name).execute();
    },
    remove: async (name) => {
      const result = await db.deleteFrom('a2a_peers').where('name', '=', name).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}
