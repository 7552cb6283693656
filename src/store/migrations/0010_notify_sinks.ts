import { type Kysely, SqliteAdapter } from 'kysely';

/**
 * Notification sinks (issue 15): a signed webhook per row, and its durable delivery state. The
 * trail is the buffer: `delivered_through` is the global log position (audit leaf index) of the
 * last event delivered, so a restart or a receiver that is down loses nothing. `lease_owner` and
 * `lease_until` let one replica at a time deliver for a sink.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  await db.schema
    .createTable('notify_sinks')
    .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('url', 'varchar(2048)', (c) => c.notNull())
    .addColumn('format', 'varchar(16)', (c) => c.notNull())
    .addColumn('events', 'text', (c) => c.notNull())
    .addColumn('key_sealed', 'text')
    .addColumn('key_secret', 'varchar(320)')
    .addColumn('paused_at', 'varchar(40)')
    .addColumn('delivered_through', sqlite ? 'integer' : 'bigint', (c) => c.notNull())
    .addColumn('delivered_count', sqlite ? 'integer' : 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('last_delivered_at', 'varchar(40)')
    .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'varchar(1024)')
    .addColumn('last_error_at', 'varchar(40)')
    .addColumn('lease_owner', 'varchar(64)')
    .addColumn('lease_until', 'varchar(40)')
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('notify_sinks').execute();
}
