import { type Kysely, SqliteAdapter, sql } from 'kysely';

/**
 * The audit trail (issue 5). `audit_events` holds every event once, as the RFC 8785 text that was
 * hashed (`body`, the event without `hash`) beside its `hash`, at its 0-based `leaf_index` in the
 * one RFC 9162 Merkle tree over all chains, with copies of the fields investigators filter on.
 * `audit_head` is the single row every append transaction locks first: it sequences leaf indexes
 * without gaps across processes and keeps the tree's size and frontier. `audit_chains` keeps each
 * chain's last seq and hash; `audit_checkpoints` the signed tree heads (C2SP tlog-checkpoint).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // On SQLite an INTEGER PRIMARY KEY is the rowid itself (64-bit): no second index to maintain.
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  await db.schema
    .createTable('audit_events')
    .addColumn('leaf_index', sqlite ? 'integer' : 'bigint', (c) => c.primaryKey())
    .addColumn('chain', 'varchar(300)', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('id', 'varchar(512)', (c) => c.notNull())
    .addColumn('time', 'varchar(40)', (c) => c.notNull())
    .addColumn('type', 'varchar(128)', (c) => c.notNull())
    .addColumn('agent', 'varchar(512)')
    .addColumn('instance', 'varchar(512)')
    .addColumn('person', 'varchar(512)')
    .addColumn('action', 'varchar(512)')
    .addColumn('resource', 'varchar(512)')
    .addColumn('decision', 'varchar(8)')
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('trace_id', 'varchar(32)')
    .addColumn('args_digest', 'varchar(80)')
    .addColumn('hash', 'varchar(64)', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('audit_events_chain_seq').unique().on('audit_events').columns(['chain', 'seq']).execute();
  await db.schema.createIndex('audit_events_time').on('audit_events').column('time').execute();
  for (const column of ['agent', 'instance', 'person', 'resource', 'type']) {
    await db.schema.createIndex(`audit_events_${column}`).on('audit_events').columns([column, 'leaf_index']).execute();
  }
  // Most events carry neither: partial indexes cost those nothing.
  await db.schema.createIndex('audit_events_trace').on('audit_events').column('trace_id').where(sql.ref('trace_id'), 'is not', null).execute();
  await db.schema.createIndex('audit_events_digest').on('audit_events').column('args_digest').where(sql.ref('args_digest'), 'is not', null).execute();

  await db.schema
    .createTable('audit_head')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('frontier', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
    .execute();
  await sql`insert into audit_head (id, size, frontier, updated_at) values (1, 0, '', ${new Date(0).toISOString()})`.execute(db);

  await db.schema
    .createTable('audit_chains')
    .addColumn('chain', 'varchar(300)', (c) => c.primaryKey())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('hash', 'varchar(64)', (c) => c.notNull())
    .addColumn('sealed', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('audit_checkpoints')
    .addColumn('size', 'bigint', (c) => c.primaryKey())
    .addColumn('root', 'varchar(64)', (c) => c.notNull())
    .addColumn('note', 'text', (c) => c.notNull())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['audit_checkpoints', 'audit_chains', 'audit_head', 'audit_events']) {
    await db.schema.dropTable(table).execute();
  }
}
