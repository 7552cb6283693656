import type { Kysely } from 'kysely';

/** Broker secrets (sealed), upstream MCP servers, and pinned tool definitions. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('secrets')
    .addColumn('name', 'varchar(200)', (c) => c.primaryKey())
    .addColumn('sealed', 'text', (c) => c.notNull())
    .addColumn('master_key_id', 'varchar(32)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('mcp_servers')
    .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('spec', 'text', (c) => c.notNull())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('tool_pins')
    .addColumn('server', 'varchar(64)', (c) => c.notNull())
    .addColumn('tool', 'varchar(128)', (c) => c.notNull())
    .addColumn('hash', 'varchar(64)', (c) => c.notNull())
    .addColumn('definition', 'text', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('pending_hash', 'varchar(64)')
    .addColumn('pending_definition', 'text')
    .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
    .addPrimaryKeyConstraint('tool_pins_pk', ['server', 'tool'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['tool_pins', 'mcp_servers', 'secrets']) await db.schema.dropTable(table).execute();
}
