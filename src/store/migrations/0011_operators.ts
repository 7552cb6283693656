import type { Kysely } from 'kysely';

/**
 * Operators and their API tokens: persons (stable subject, email, display name) holding roles,
 * each role optionally scoped to an environment (`approver:prod`). Admin tokens gain their roles,
 * the operator they belong to, an expiry and their last use; a token without `roles` keeps the
 * single `role` it was created with.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('operators')
    .addColumn('subject', 'varchar(200)', (c) => c.primaryKey())
    .addColumn('email', 'varchar(320)', (c) => c.notNull())
    .addColumn('name', 'varchar(200)', (c) => c.notNull())
    .addColumn('roles', 'text', (c) => c.notNull())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('created_by', 'varchar(200)')
    .execute();
  await db.schema.createIndex('operators_email').unique().on('operators').column('email').execute();

  await db.schema.alterTable('admin_tokens').addColumn('roles', 'text').execute();
  await db.schema.alterTable('admin_tokens').addColumn('operator', 'varchar(200)').execute();
  await db.schema.alterTable('admin_tokens').addColumn('expires_at', 'varchar(40)').execute();
  await db.schema.alterTable('admin_tokens').addColumn('last_used_at', 'varchar(40)').execute();
  await db.schema.alterTable('admin_tokens').addColumn('created_by', 'varchar(200)').execute();
  await db.schema.createIndex('admin_tokens_operator').on('admin_tokens').column('operator').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('admin_tokens_operator').execute();
  for (const column of ['created_by', 'last_used_at', 'expires_at', 'operator', 'roles']) {
    await db.schema.alterTable('admin_tokens').dropColumn(column).execute();
  }
  await db.schema.dropIndex('operators_email').execute();
  await db.schema.dropTable('operators').execute();
}
