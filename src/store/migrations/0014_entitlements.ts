import type { Kysely } from 'kysely';

/**
 * Entitlements: what members of a person's group may have an agent do for them, as scope items
 * (`tool:github/*`, `http:billing:GET:/invoices/**`). While the table is empty no person limit
 * applies; once it holds a row, a person's mandate is limited to the union over their groups.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('entitlements')
    .addColumn('group_name', 'varchar(200)', (c) => c.primaryKey())
    .addColumn('items', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('entitlements').execute();
}
