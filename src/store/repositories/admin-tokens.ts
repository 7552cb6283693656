import type { AdminTokensTable } from '../schema.ts';
import type { Queryable } from '../store.ts';

export type AdminTokenRow = AdminTokensTable;

/** Admin API bearer tokens, kept as hashes. */
export interface AdminTokensRepository {
  insert(row: AdminTokenRow): Promise<void>;
  find(id: string): Promise<AdminTokenRow | undefined>;
  count(): Promise<number>;
}

export function adminTokensRepository(db: Queryable): AdminTokensRepository {
  return {
    insert: async (row) => {
      await db.insertInto('admin_tokens').values(row).execute();
    },
    find: (id) => db.selectFrom('admin_tokens').selectAll().where('id', '=', id).executeTakeFirst(),
    count: async () => {
      const row = await db
        .selectFrom('admin_tokens')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}
