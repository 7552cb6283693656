import type { Kysely } from 'kysely';

/**
 * Lifecycle governance: the persons an identity provider provisions over SCIM 2.0 (RFC 7643
 * User resources, kept whole in `resource`), and the flags lifecycle puts on agents (`orphaned`
 * when their owner left, `stale` when unused), each with the time its follow-up is due. Mandates
 * gain an index for the inventory's newest-first keyset pages.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('persons')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('user_name', 'varchar(320)', (c) => c.notNull())
    .addColumn('external_id', 'varchar(320)')
    .addColumn('email', 'varchar(320)')
    .addColumn('display_name', 'varchar(320)')
    .addColumn('manager', 'varchar(320)')
    .addColumn('active', 'integer', (c) => c.notNull())
    .addColumn('resource', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('left_at', 'varchar(40)')
    .execute();
  await db.schema.createIndex('persons_user_name').unique().on('persons').column('user_name').execute();
  await db.schema.createIndex('persons_email').on('persons').column('email').execute();

  await db.schema
    .createTable('agent_flags')
    .addColumn('agent_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('flag', 'varchar(32)', (c) => c.notNull())
    .addColumn('since', 'varchar(40)', (c) => c.notNull())
    .addColumn('reason', 'varchar(1024)', (c) => c.notNull())
    .addColumn('due_at', 'varchar(40)')
    .addPrimaryKeyConstraint('agent_flags_pk', ['agent_id', 'flag'])
    .execute();

  await db.schema.createIndex('mandates_issued').on('mandates').columns(['issued_at', 'jti']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('mandates_issued').execute();
  await db.schema.dropTable('agent_flags').execute();
  await db.schema.dropIndex('persons_email').execute();
  await db.schema.dropIndex('persons_user_name').execute();
  await db.schema.dropTable('persons').execute();
}
