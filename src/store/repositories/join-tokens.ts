import type { JoinTokensTable } from '../schema.ts';
import type { Queryable } from '../store.ts';

export type JoinTokenRow = JoinTokensTable;

/** One-time join tokens, kept as hashes. */
export interface JoinTokensRepository {
  insert(row: JoinTokenRow): Promise<void>;
  find(id: string): Promise<JoinTokenRow | undefined>;
  /** Spend one use atomically; false when none is left. */
  spend(id: string): Promise<boolean>;
}

export function joinTokensRepository(db: Queryable): JoinTokensRepository {
  return {
    insert: async (row) => {
      await db.insertInto('join_tokens').values(row).execute();
    },
    find: (id) => db.selectFrom('join_tokens').selectAll().where('id', '=', id).executeTakeFirst(),
    spend: async (id) => {
      const spent = await db
        .updateTable('join_tokens')
        .set((eb) => ({ uses_left: eb('uses_left', '-', 1) }))
        .where('id', '=', id)
        .where('uses_left', '>', 0)
        .executeTakeFirst();
      return Number(spent.numUpdatedRows) === 1;
    },
  };
}
