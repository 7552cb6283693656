import type { Kysely } from 'kysely';

/**
 * Scale-out: the running Cedar policy set lives in the database, so every replica decides with the
 * same one. Each apply appends a row; the highest `seq` is the running set.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('policy_sets')
    .addColumn('seq', 'bigint', (c) => c.primaryKey())
    .addColumn('version', 'varchar(80)', (c) => c.notNull())
    .addColumn('files', 'text', (c) => c.notNull())
    .addColumn('applied_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('applied_by', 'varchar(200)', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('policy_sets').execute();
}
