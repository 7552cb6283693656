import type { Kysely } from 'kysely';

/**
 * Lifecycle governance, second half: access review campaigns and their items (one per agent in
 * scope, assigned to its owner), the findings queue shadow-agent discovery reports into, the
 * refused clients of the enforcement points grouped by source, and daily hygiene snapshots (the
 * trend of the hygiene report).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('review_campaigns')
    .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
    .addColumn('environment', 'varchar(20)')
    .addColumn('status', 'varchar(20)', (c) => c.notNull())
    .addColumn('action', 'varchar(20)', (c) => c.notNull())
    .addColumn('unused_days', 'integer', (c) => c.notNull())
    .addColumn('due_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('created_by', 'varchar(320)')
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('closed_at', 'varchar(40)')
    .addColumn('report', 'text')
    .execute();
  await db.schema
    .createTable('review_items')
    .addColumn('campaign_id', 'varchar(40)', (c) => c.notNull())
    .addColumn('agent_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('owner', 'varchar(320)')
    .addColumn('status', 'varchar(20)', (c) => c.notNull())
    .addColumn('granted', 'text', (c) => c.notNull())
    .addColumn('unused', 'text', (c) => c.notNull())
    .addColumn('removed', 'text')
    .addColumn('decided_by', 'varchar(320)')
    .addColumn('decided_at', 'varchar(40)')
    .addColumn('note', 'varchar(2000)')
    .addColumn('reminded_at', 'varchar(40)')
    .addPrimaryKeyConstraint('review_items_pk', ['campaign_id', 'agent_id'])
    .execute();
  await db.schema.createIndex('review_items_owner').on('review_items').columns(['owner', 'status']).execute();

  await db.schema
    .createTable('findings')
    .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
    .addColumn('scanner', 'varchar(40)', (c) => c.notNull())
    .addColumn('kind', 'varchar(40)', (c) => c.notNull())
    .addColumn('fingerprint', 'varchar(128)', (c) => c.notNull().unique())
    .addColumn('status', 'varchar(20)', (c) => c.notNull())
    .addColumn('severity', 'varchar(20)', (c) => c.notNull())
    .addColumn('title', 'varchar(500)', (c) => c.notNull())
    .addColumn('source', 'varchar(1000)', (c) => c.notNull())
    .addColumn('detail', 'text', (c) => c.notNull())
    .addColumn('first_seen', 'varchar(40)', (c) => c.notNull())
    .addColumn('last_seen', 'varchar(40)', (c) => c.notNull())
    .addColumn('seen_count', 'integer', (c) => c.notNull())
    .addColumn('agent_id', 'varchar(64)')
    .addColumn('owner', 'varchar(320)')
    .addColumn('reason', 'varchar(2000)')
    .addColumn('decided_by', 'varchar(320)')
    .addColumn('decided_at', 'varchar(40)')
    .execute();
  await db.schema.createIndex('findings_status').on('findings').columns(['status', 'scanner']).execute();

  await db.schema
    .createTable('refused_clients')
    .addColumn('source', 'varchar(200)', (c) => c.notNull())
    .addColumn('kind', 'varchar(40)', (c) => c.notNull())
    .addColumn('resource', 'varchar(200)', (c) => c.notNull())
    .addColumn('code', 'varchar(80)', (c) => c.notNull())
    .addColumn('user_agent', 'varchar(200)', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('first_seen', 'varchar(40)', (c) => c.notNull())
    .addColumn('last_seen', 'varchar(40)', (c) => c.notNull())
    .addPrimaryKeyConstraint('refused_clients_pk', ['source', 'user_agent', 'kind', 'resource', 'code'])
    .execute();

  await db.schema
    .createTable('hygiene_snapshots')
    .addColumn('taken_at', 'varchar(40)', (c) => c.primaryKey())
    .addColumn('counts', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['hygiene_snapshots', 'refused_clients', 'findings', 'review_items', 'review_campaigns']) await db.schema.dropTable(table).execute();
}
