import type { Kysely } from 'kysely';

/** Credential broker: HTTP and PostgreSQL connections, and the short-lived database roles it creates per mandate. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('connections')
    .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('spec', 'text', (c) => c.notNull())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('broker_db_roles')
    .addColumn('connection', 'varchar(64)', (c) => c.notNull())
    .addColumn('jti', 'varchar(64)', (c) => c.notNull())
    .addColumn('role', 'varchar(63)', (c) => c.notNull().unique())
    .addColumn('password_sealed', 'text', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('expires_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addPrimaryKeyConstraint('broker_db_roles_pk', ['connection', 'jti'])
    .execute();
  await db.schema.createIndex('broker_db_roles_expires').on('broker_db_roles').column('expires_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['broker_db_roles', 'connections']) await db.schema.dropTable(table).execute();
}
