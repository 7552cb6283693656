import type { Queryable } from '../store.ts';

/** A group and the scope items its members' agents may be granted. */
export interface EntitlementRecord {
  group: string;
  items: string[];
  updated_at: string;
}

/** Entitlements: group → scope items. Items are opaque strings here; `src/tokens/entitlements.ts` parses them. */
export interface EntitlementsRepository {
  list(): Promise<EntitlementRecord[]>;
  /** The entitlements of these groups (those that have any). */
  ofGroups(groups: readonly string[]): Promise<EntitlementRecord[]>;
  /** Whether any group has entitlements: none configured means no person limit. */
  configured(): Promise<boolean>;
  put(record: EntitlementRecord): Promise<void>;
  remove(group: string): Promise<boolean>;
  /** Replace every entitlement with these (run it in a transaction). */
  replaceAll(records: readonly EntitlementRecord[]): Promise<void>;
}

type Row = { group_name: string; items: string; updated_at: string };
const record = (row: Row): EntitlementRecord => ({ group: row.group_name, items: JSON.parse(row.items) as string[], updated_at: row.updated_at });
const row = (r: EntitlementRecord): Row => ({ group_name: r.group, items: JSON.stringify(r.items), updated_at: r.updated_at });

export function entitlementsRepository(db: Queryable): EntitlementsRepository {
  return {
    list: async () => (await db.selectFrom('entitlements').selectAll().orderBy('group_name').execute()).map(record),
    ofGroups: async (groups) =>
      groups.length === 0
        ? []
        : (await db.selectFrom('entitlements').selectAll().where('group_name', 'in', [...groups]).orderBy('group_name').execute()).map(record),
    configured: async () => (await db.selectFrom('entitlements').select('group_name').limit(1).executeTakeFirst()) !== undefined,
    put: async (r) => {
      const { group_name: _group, ...rest } = row(r);
      await db
        .insertInto('entitlements')
        .values(row(r))
        .onConflict((oc) => oc.column('group_name').doUpdateSet(rest))
        .execute();
    },
    remove: async (group) => Number((await db.deleteFrom('entitlements').where('group_name', '=', group).executeTakeFirst()).numDeletedRows) === 1,
    replaceAll: async (records) => {
      await db.deleteFrom('entitlements').execute();
      if (records.length > 0) await db.insertInto('entitlements').values(records.map(row)).execute();
    },
  };
}
