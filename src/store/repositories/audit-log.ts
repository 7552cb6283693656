import { CompiledQuery, type Kysely, sql } from 'kysely';
import type { AuditChainsTable, AuditCheckpointsTable, AuditEventsTable, Database } from '../schema.ts';
import type { Dialect, Queryable } from '../store.ts';

/** A stored event as written: its query columns, leaf index, hash and the hashed text. */
export type AuditEventRow = Record<(typeof EVENT_COLUMNS)[number], string | number | null>;

export interface TreeHeadRow {
  size: number;
  /** Base64 hashes, largest subtree first, comma-separated. */
  frontier: string;
}

export interface ChainHeadRow {
  chain: string;
  seq: number;
  hash: string;
  sealed: boolean;
}

export interface CheckpointRow {
  size: number;
  /** Hex root hash. */
  root: string;
  note: string;
  created_at: string;
}

/** Text columns an investigator filters on: `exact` matches, `prefix` matches the column's first characters. */
export type EventColumnFilter = { column: EventFilterColumn } & ({ exact: string } | { prefix: string });

export type EventFilterColumn = 'chain' | 'agent' | 'instance' | 'person' | 'resource' | 'action' | 'decision' | 'status' | 'type' | 'trace_id' | 'args_digest';

export interface EventQuery {
  columns: readonly EventColumnFilter[];
  /** ISO-8601: since inclusive, until exclusive. */
  since?: string | undefined;
  until?: string | undefined;
  /** Continue after this leaf (in `order`). */
  after?: number | undefined;
  order: 'asc' | 'desc';
  limit: number;
}

const EVENT_COLUMNS = [
  'leaf_index', 'chain', 'seq', 'id', 'time', 'type', 'agent', 'instance', 'person', 'action',
  'resource', 'decision', 'status', 'trace_id', 'args_digest', 'hash', 'body',
] as const;
const PG_TYPES = ['bigint', 'varchar', 'bigint', 'varchar', 'varchar', 'varchar', 'varchar', 'varchar', 'varchar', 'varchar',
  'varchar', 'varchar', 'varchar', 'varchar', 'varchar', 'varchar', 'text'];
/** Rows per INSERT on SQLite: 17 columns × 1000 stays under its 32,766 bound parameters. */
const SQLITE_ROWS_PER_INSERT = 1000;

const checkpointOf = (row: AuditCheckpointsTable): CheckpointRow => ({ ...row, size: Number(row.size) });
const chainHeadOf = (row: Pick<AuditChainsTable, 'chain' | 'seq' | 'hash' | 'sealed'>): ChainHeadRow => ({
  chain: row.chain,
  seq: Number(row.seq),
  hash: row.hash,
  sealed: Number(row.sealed) === 1,
});

/**
 * The audit log: events as leaves of one RFC 9162 tree and links of per-instance hash chains,
 * the tree head every append moves, chain heads and signed checkpoints.
 */
export interface AuditLogRepository {
  head(): Promise<TreeHeadRow | undefined>;
  /**
   * Read the tree head and take the lock that serializes appends until the transaction ends
   * (the row lock on PostgreSQL, the write lock on SQLite): the log's one sequencer.
   */
  lockHead(): Promise<TreeHeadRow | undefined>;
  setHead(head: TreeHeadRow, at: string): Promise<void>;
  chainHeads(chains: readonly string[]): Promise<Map<string, ChainHeadRow>>;
  latestCheckpoint(): Promise<CheckpointRow | undefined>;
  /** Newest first. */
  checkpoints(options: { limit: number; before?: number | undefined }): Promise<CheckpointRow[]>;
  /** Keep a checkpoint; one of the same size already kept stays. */
  addCheckpoint(row: CheckpointRow): Promise<void>;
  /** Event hashes of leaves in [from, to), in leaf order. */
  leafHashes(from: number, to: number): Promise<Array<{ leaf_index: number; hash: string }>>;
  eventAt(leaf: number): Promise<{ chain: string; seq: number; hash: string; body: string } | undefined>;
  queryEvents(query: EventQuery): Promise<Array<{ leaf_index: number; hash: string; body: string }>>;
  /** The leaf of the earliest event by time at or after `time` (one step down the time index). */
  firstLeafSince(time: string): Promise<number | undefined>;
  /** Decision events of `types` at or after `since`, past leaf `after`, in leaf order; the body only of denials. */
  decisionRows(q: { types: readonly string[]; since: string; after?: number | undefined; limit: number }): Promise<Array<{ time: string; decision: string | null; body: string | null }>>;
  /** A page of leaves after `after` and below `size`, in leaf order, optionally of one chain; `deep` adds every query column. */
  leavesPage(options: { after: number; size: number; chain?: string | undefined; deep: boolean; limit: number }): Promise<Array<Partial<AuditEventsTable> & Pick<AuditEventsTable, 'leaf_index' | 'chain' | 'seq' | 'hash' | 'body'>>>;
  /** Every event of one chain below `size`, in leaf order. */
  chainEvents(chain: string, size: number): Promise<Array<{ leaf_index: number; hash: string; body: string }>>;
}

/** The appends themselves, written per dialect: one statement per batch (bounded on SQLite). */
export interface AuditAppendRepository {
  appendEvents(rows: readonly AuditEventRow[]): Promise<void>;
  /** Insert or move chain heads. */
  putChainHeads(heads: readonly ChainHeadRow[], at: string): Promise<void>;
}

export function auditLogRepository(db: Queryable): AuditLogRepository {
  return {
    head: async () => {
      const row = await db.selectFrom('audit_head').select(['size', 'frontier']).where('id', '=', 1).executeTakeFirst();
      return row ? { size: Number(row.size), frontier: row.frontier } : undefined;
    },
    lockHead: async () => {
      const locked = await db.executeQuery<{ size: number | string; frontier: string }>(
        CompiledQuery.raw('update audit_head set size = size where id = 1 returning size, frontier'),
      );
      const row = locked.rows[0];
      return row ? { size: Number(row.size), frontier: row.frontier } : undefined;
    },
    setHead: async (head, at) => {
      await db.updateTable('audit_head').set({ size: head.size, frontier: head.frontier, updated_at: at }).where('id', '=', 1).execute();
    },
    chainHeads: async (chains) => {
      if (chains.length === 0) return new Map();
      const rows = await db.selectFrom('audit_chains').select(['chain', 'seq', 'hash', 'sealed']).where('chain', 'in', [...chains]).execute();
      return new Map(rows.map((r) => [r.chain, chainHeadOf(r)]));
    },
    latestCheckpoint: async () => {
      const row = await db.selectFrom('audit_checkpoints').selectAll().orderBy('size', 'desc').limit(1).executeTakeFirst();
      return row ? checkpointOf(row) : undefined;
    },
    checkpoints: async ({ limit, before }) => {
      let query = db.selectFrom('audit_checkpoints').selectAll().orderBy('size', 'desc').limit(limit);
      if (before !== undefined) query = query.where('size', '<', before);
      return (await query.execute()).map(checkpointOf);
    },
    addCheckpoint: async (row) => {
      await db.insertInto('audit_checkpoints').values(row).onConflict((oc) => oc.column('size').doNothing()).execute();
    },
    leafHashes: async (from, to) => {
      const rows = await db
        .selectFrom('audit_events')
        .select(['leaf_index', 'hash'])
        .where('leaf_index', '>=', from)
        .where('leaf_index', '<', to)
        .orderBy('leaf_index')
        .execute();
      return rows.map((r) => ({ leaf_index: Number(r.leaf_index), hash: r.hash }));
    },
    eventAt: async (leaf) => {
      const row = await db.selectFrom('audit_events').select(['chain', 'seq', 'hash', 'body']).where('leaf_index', '=', leaf).executeTakeFirst();
      return row ? { ...row, seq: Number(row.seq) } : undefined;
    },
    queryEvents: async (q) => {
      let query = db.selectFrom('audit_events').select(['leaf_index', 'hash', 'body']);
      for (const filter of q.columns) {
        if ('exact' in filter) query = query.where(filter.column, '=', filter.exact);
        // substr counts characters (code points) on both databases.
        else query = query.where(sql<string>`substr(${sql.ref(filter.column)}, 1, ${[...filter.prefix].length})`, '=', filter.prefix);
      }
      if (q.since) query = query.where('time', '>=', q.since);
      if (q.until) query = query.where('time', '<', q.until);
      if (q.after !== undefined) query = query.where('leaf_index', q.order === 'asc' ? '>' : '<', q.after);
      const rows = await query.orderBy('leaf_index', q.order).limit(q.limit).execute();
      return rows.map((r) => ({ ...r, leaf_index: Number(r.leaf_index) }));
    },
    firstLeafSince: async (time) => {
      const row = await db.selectFrom('audit_events').select('leaf_index').where('time', '>=', time).orderBy('time').limit(1).executeTakeFirst();
      return row ? Number(row.leaf_index) : undefined;
    },
    decisionRows: async ({ types, since, after, limit }) => {
      let query = db
        .selectFrom('audit_events')
        .select(['time', 'decision', sql<string | null>`case when decision = 'deny' then body end`.as('body')])
        .where('type', 'in', [...types])
        .where('time', '>=', since);
      if (after !== undefined) query = query.where('leaf_index', '>', after);
      return query.orderBy('leaf_index').limit(limit).execute();
    },
    leavesPage: async ({ after, size, chain, deep, limit }) => {
      const columns = deep
        ? (['leaf_index', 'chain', 'seq', 'hash', 'body', 'id', 'time', 'type', 'agent', 'instance', 'person', 'action', 'resource', 'decision', 'status', 'trace_id', 'args_digest'] as const)
        : (['leaf_index', 'chain', 'seq', 'hash', 'body'] as const);
      let query = db.selectFrom('audit_events').select(columns).where('leaf_index', '>', after).where('leaf_index', '<', size);
      if (chain) query = query.where('chain', '=', chain);
      return query.orderBy('leaf_index').limit(limit).execute();
    },
    chainEvents: async (chain, size) => {
      const rows = await db
        .selectFrom('audit_events')
        .select(['leaf_index', 'hash', 'body'])
        .where('chain', '=', chain)
        .where('leaf_index', '<', size)
        .orderBy('leaf_index')
        .execute();
      return rows.map((r) => ({ ...r, leaf_index: Number(r.leaf_index) }));
    },
  };
}

export function auditAppendRepository(db: Queryable, dialect: Dialect): AuditAppendRepository {
  return {
    putChainHeads: async (heads, at) => {
      if (heads.length === 0) return;
      const update = 'on conflict (chain) do update set seq = excluded.seq, hash = excluded.hash, sealed = excluded.sealed, updated_at = excluded.updated_at';
      if (dialect === 'postgres') {
        await db.executeQuery(
          CompiledQuery.raw(
            `insert into audit_chains (chain, seq, hash, sealed, updated_at) select * from unnest($1::varchar[], $2::bigint[], $3::varchar[], $4::integer[], $5::varchar[]) ${update}`,
            [heads.map((h) => h.chain), heads.map((h) => h.seq), heads.map((h) => h.hash), heads.map((h) => (h.sealed ? 1 : 0)), heads.map(() => at)],
          ),
        );
        return;
      }
      for (let start = 0; start < heads.length; start += 5000) {
        const chunk = heads.slice(start, start + 5000);
        const params = chunk.flatMap((h) => [h.chain, h.seq, h.hash, h.sealed ? 1 : 0, at]);
        await db.executeQuery(
          CompiledQuery.raw(`insert into audit_chains (chain, seq, hash, sealed, updated_at) values ${chunk.map(() => '(?,?,?,?,?)').join(',')} ${update}`, params),
        );
      }
    },
    appendEvents: async (rows) => {
      if (rows.length === 0) return;
      const columns = EVENT_COLUMNS.join(', ');
      if (dialect === 'postgres') {
        // One statement whatever the batch size: a parameter per column, each an array.
        const arrays = EVENT_COLUMNS.map((c) => rows.map((r) => r[c]));
        const unnest = PG_TYPES.map((t, i) => `$${i + 1}::${t}[]`).join(', ');
        await db.executeQuery(CompiledQuery.raw(`insert into audit_events (${columns}) select * from unnest(${unnest})`, arrays));
        return;
      }
      for (let start = 0; start < rows.length; start += SQLITE_ROWS_PER_INSERT) {
        const chunk = rows.slice(start, start + SQLITE_ROWS_PER_INSERT);
        const params: unknown[] = [];
        for (const row of chunk) for (const c of EVENT_COLUMNS) params.push(row[c]);
        const tuple = `(${EVENT_COLUMNS.map(() => '?').join(',')})`;
        await db.executeQuery(CompiledQuery.raw(`insert into audit_events (${columns}) values ${new Array(chunk.length).fill(tuple).join(',')}`, params));
      }
    },
  };
}

/**
 * One consistent snapshot of what verification starts from: the tree head, the chain heads
 * (of one chain, or all) and every checkpoint, read in one repeatable-read transaction.
 */
export async function auditSnapshot(db: Kysely<Database>, chain?: string): Promise<{ head: TreeHeadRow | undefined; heads: ChainHeadRow[]; checkpoints: CheckpointRow[] }> {
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      const head = await trx.selectFrom('audit_head').select(['size', 'frontier']).where('id', '=', 1).executeTakeFirst();
      let heads = trx.selectFrom('audit_chains').select(['chain', 'seq', 'hash', 'sealed']);
      if (chain) heads = heads.where('chain', '=', chain);
      const checkpoints = await trx.selectFrom('audit_checkpoints').selectAll().orderBy('size').execute();
      return {
        head: head ? { size: Number(head.size), frontier: head.frontier } : undefined,
        heads: (await heads.execute()).map(chainHeadOf),
        checkpoints: checkpoints.map(checkpointOf),
      };
    });
}
