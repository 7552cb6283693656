import type { Kysely } from 'kysely';

/**
 * Runtime governance (issue 8): budget ledgers per mandate, fixed-window rate counters, per-agent
 * behavioral baselines, and human approvals. Every write to the first three is one atomic
 * statement (guarded update or upsert-increment), so replicas over one PostgreSQL never overspend
 * or undercount.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('mandate_budgets')
    .addColumn('jti', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('budget', 'double precision', (c) => c.notNull())
    .addColumn('spent', 'double precision', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('rate_windows')
    .addColumn('key', 'varchar(600)', (c) => c.primaryKey())
    .addColumn('hits', 'integer', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('rate_windows_expiry').on('rate_windows').column('expires_at').execute();

  await db.schema
    .createTable('behavior_baselines')
    .addColumn('agent_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('key', 'varchar(400)', (c) => c.notNull())
    .addColumn('hits', 'bigint', (c) => c.notNull())
    .addColumn('first_seen', 'varchar(40)', (c) => c.notNull())
    .addColumn('last_seen', 'varchar(40)', (c) => c.notNull())
    .addPrimaryKeyConstraint('behavior_baselines_pk', ['agent_id', 'kind', 'key'])
    .execute();

  await db.schema
    .createTable('approvals')
    .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('instance_id', 'varchar(32)', (c) => c.notNull())
    .addColumn('agent_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('person', 'varchar(400)')
    .addColumn('owner', 'varchar(320)')
    .addColumn('jti', 'varchar(64)', (c) => c.notNull())
    .addColumn('action', 'varchar(64)', (c) => c.notNull())
    .addColumn('resource', 'varchar(4096)', (c) => c.notNull())
    .addColumn('args_digest', 'varchar(100)', (c) => c.notNull())
    .addColumn('why', 'text', (c) => c.notNull())
    .addColumn('risk', 'integer', (c) => c.notNull())
    .addColumn('requested_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('expires_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('decided_at', 'varchar(40)')
    .addColumn('decided_by', 'varchar(200)')
    .addColumn('note', 'varchar(1000)')
    .addColumn('consumed_at', 'varchar(40)')
    .execute();
  await db.schema.createIndex('approvals_binding').on('approvals').columns(['jti', 'args_digest']).execute();
  await db.schema.createIndex('approvals_status').on('approvals').columns(['status', 'requested_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['approvals', 'behavior_baselines', 'rate_windows', 'mandate_budgets']) await db.schema.dropTable(table).execute();
}
