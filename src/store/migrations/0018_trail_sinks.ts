import { type Kysely, SqliteAdapter } from 'kysely';

/**
 * Trail sinks (issue 19): the trail streamed to a SIEM or a log pipeline (syslog, webhook, Splunk
 * HEC, NATS JetStream, OTLP logs). Like the notification sinks, the trail is the buffer:
 * `delivered_through` is the global log position (audit leaf index) of the last event delivered
 * or passed over, so a receiver that is down loses nothing and enforcement never waits for it.
 * `settings` holds what is not secret (address, URL, subject, CA); `secret_sealed` the one secret
 * of the kind (HEC token, webhook key, TLS client key), sealed under the master key.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  const big = sqlite ? 'integer' : 'bigint';
  await db.schema
    .createTable('trail_sinks')
    .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('kind', 'varchar(24)', (c) => c.notNull())
    .addColumn('format', 'varchar(8)', (c) => c.notNull())
    .addColumn('settings', 'text', (c) => c.notNull())
    .addColumn('events', 'text', (c) => c.notNull())
    .addColumn('environments', 'text', (c) => c.notNull())
    .addColumn('secret_sealed', 'text')
    .addColumn('paused_at', 'varchar(40)')
    .addColumn('delivered_through', big, (c) => c.notNull())
    .addColumn('delivered_count', big, (c) => c.notNull().defaultTo(0))
    .addColumn('last_delivered_at', 'varchar(40)')
    .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('errors_count', big, (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'varchar(1024)')
    .addColumn('last_error_at', 'varchar(40)')
    .addColumn('lease_owner', 'varchar(64)')
    .addColumn('lease_until', 'varchar(40)')
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('trail_sinks').execute();
}
