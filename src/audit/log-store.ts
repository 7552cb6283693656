// The audit log in the store: rows, tree head, checkpoints, RFC 9162 proofs and queries
import { MandateError, refusal } from '../errors.ts';
import { parseDurationSeconds } from '../registry/duration.ts';
import { auditLogRepository, type EventColumnFilter } from '../store/repositories/audit-log.ts';
import type { AuditEventsTable } from '../store/schema.ts';
import type { Dialect, Queryable } from '../store/store.ts';
import { type CheckpointKey } from './checkpoint-key.ts';
import { signCheckpoint } from './checkpoint.ts';
import type { AuditEvent } from './event.ts';
import { leafHash, MerkleLog, rangeError } from './merkle.ts';
import { consistencyProof, inclusionProof } from './merkle-proof.ts';

/** Longest value kept in an indexed text column; longer ones are matched on this prefix. */
export const COLUMN_CHARS = 512;

export type EventRow = Omit<AuditEventsTable, 'leaf_index' | 'seq'> & { leaf_index: number; seq: number };

/** At most COLUMN_CHARS UTF-16 units, never half of a surrogate pair. */
function clip(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  if (value.length <= COLUMN_CHARS) return value;
  const last = value.charCodeAt(COLUMN_CHARS - 1);
  return value.slice(0, last >= 0xd800 && last <= 0xdbff ? COLUMN_CHARS - 1 : COLUMN_CHARS);
}

/** The query columns of an event: what the writer stores beside the body and deep verification recomputes. */
export function columnsOf(event: AuditEvent): Omit<EventRow, 'leaf_index' | 'hash' | 'body'> {
  return {
    chain: event.chain,
    seq: event.seq,
    id: event.id,
    time: event.time,
    type: event.type,
    agent: clip(event.actor.agent),
    instance: clip(event.actor.instance),
    person: clip(event.actor.person),
    action: clip(event.action),
    resource: clip(event.resource),
    decision: event.decision ?? null,
    status: event.status,
    trace_id: event.trace_id ?? null,
    args_digest: event.args_digest ?? null,
  };
}

/** An event from its stored row: the hashed text plus its hash. */
export function eventOf(row: Pick<EventRow, 'body' | 'hash'>): AuditEvent {
  return { ...(JSON.parse(row.body) as Omit<AuditEvent, 'hash'>), hash: row.hash };
}

export function normalizeRow<T extends { leaf_index: number | string; seq: number | string }>(
  row: T,
): Omit<T, 'leaf_index' | 'seq'> & { leaf_index: number; seq: number } {
  return { ...row, leaf_index: Number(row.leaf_index), seq: Number(row.seq) };
}

export interface TreeHead {
  size: number;
  frontier: Uint8Array[];
}

export const encodeFrontier = (frontier: readonly Uint8Array[]) =>
  frontier.map((h) => Buffer.from(h).toString('base64')).join(',');
export const decodeFrontier = (text: string): Uint8Array[] =>
  text === '' ? [] : text.split(',').map((h) => Buffer.from(h, 'base64'));

export async function readHead(db: Queryable): Promise<TreeHead> {
  const row = await auditLogRepository(db).head();
  if (!row) throw new MandateError('ERR_AUDIT_STORE', 'the audit tree head is missing');
  return { size: row.size, frontier: decodeFrontier(row.frontier) };
}

export const rootOf = (head: TreeHead): Uint8Array => MerkleLog.restore(head.size, head.frontier).root();

export interface StoredCheckpoint {
  size: number;
  /** Base64 root hash, as in the note. */
  root: string;
  note: string;
  created_at: string;
}

const toCheckpoint = (row: { size: number | string; root: string; note: string; created_at: string }): StoredCheckpoint => ({
  size: Number(row.size),
  root: Buffer.from(row.root, 'hex').toString('base64'),
  note: row.note,
  created_at: row.created_at,
});

export async function latestCheckpoint(db: Queryable): Promise<StoredCheckpoint | null> {
  const row = await auditLogRepository(db).latestCheckpoint();
  return row ? toCheckpoint(row) : null;
}

export async function listCheckpoints(
  db: Queryable,
  options: { limit?: number; before?: number } = {},
): Promise<StoredCheckpoint[]> {
  return (await auditLogRepository(db).checkpoints({ limit: options.limit ?? 100, before: options.before })).map(toCheckpoint);
}

/**
 * Sign the tree as committed now and keep the checkpoint; when the tree has not grown since the
 * latest checkpoint, that one is returned. Replicas signing the same size write the same note
 * (Ed25519 is deterministic), so a second insert changes nothing.
 */
export async function createCheckpoint(db: Queryable, key: CheckpointKey, now: Date): Promise<StoredCheckpoint> {
  const head = await readHead(db);
  const latest = await latestCheckpoint(db);
  if (latest && latest.size >= head.size) return latest;
  const root = rootOf(head);
  const note = signCheckpoint({ origin: key.origin, size: head.size, rootHash: root }, key.signer);
  const row = { size: head.size, root: Buffer.from(root).toString('hex'), note, created_at: now.toISOString() };
  await auditLogRepository(db).addCheckpoint(row);
  return toCheckpoint(row);
}

/** Leaf hashes 0..size-1, read in pages; a missing leaf is an error (the log has a gap). */
export async function loadLeaves(db: Queryable, size: number, pageSize = 20_000): Promise<Uint8Array[]> {
  const leaves: Uint8Array[] = [];
  while (leaves.length < size) {
    const rows = await auditLogRepository(db).leafHashes(leaves.length, Math.min(size, leaves.length + pageSize));
    for (const row of rows) {
      if (row.leaf_index !== leaves.length) break;
      leaves.push(leafHash(Buffer.from(row.hash, 'hex')));
    }
    if (rows.length === 0 || rows.at(-1)!.leaf_index !== leaves.length - 1) {
      throw new MandateError('ERR_AUDIT_LOG_GAP', `audit leaf ${leaves.length} is missing`);
    }
  }
  return leaves;
}

async function checkSize(db: Queryable, size: number): Promise<void> {
  const head = await readHead(db);
  if (!Number.isSafeInteger(size) || size < 0 || size > head.size) {
    throw rangeError(`tree size ${size} is not in the log (it has ${head.size} leaves)`);
  }
}

const b64 = (hashes: readonly Uint8Array[]) => hashes.map((h) => Buffer.from(h).toString('base64'));

/** RFC 9162 §2.1.3 inclusion proof of leaf `index` in the tree of `size` leaves, with the event's hash. */
export async function proveInclusion(db: Queryable, index: number, size: number) {
  await checkSize(db, size);
  if (!Number.isSafeInteger(index) || index < 0 || index >= size) throw rangeError(`leaf ${index} is not in a tree of ${size} leaves`);
  const leaves = await loadLeaves(db, size);
  const row = await auditLogRepository(db).eventAt(index);
  if (!row) throw new MandateError('ERR_AUDIT_LOG_GAP', `audit leaf ${index} is missing`);
  const proof = inclusionProof(index, size, (i) => leaves[i] as Uint8Array);
  return {
    index,
    size,
    chain: row.chain,
    seq: row.seq,
    event_hash: row.hash,
    leaf_hash: Buffer.from(leaves[index] as Uint8Array).toString('base64'),
    proof: b64(proof),
  };
}

/** RFC 9162 §2.1.4 consistency proof that the tree of `from` leaves is a prefix of the tree of `to`. */
export async function proveConsistency(db: Queryable, from: number, to: number) {
  await checkSize(db, to);
  if (!Number.isSafeInteger(from) || from < 0 || from > to) throw rangeError(`tree size ${from} is not within 0..${to}`);
  const leaves = await loadLeaves(db, to);
  return { from, to, proof: b64(consistencyProof(from, to, (i) => leaves[i] as Uint8Array)) };
}

/** What investigators filter on. Text filters match exactly; a trailing `*` matches a prefix. */
export interface EventFilter {
  chain?: string | undefined;
  agent?: string | undefined;
  instance?: string | undefined;
  person?: string | undefined;
  resource?: string | undefined;
  action?: string | undefined;
  decision?: 'allow' | 'deny' | undefined;
  status?: string | undefined;
  type?: string | undefined;
  trace_id?: string | undefined;
  args_digest?: string | undefined;
  /** ISO-8601 instants: since inclusive, until exclusive. */
  since?: string | undefined;
  until?: string | undefined;
}

const TEXT_FILTERS = ['chain', 'agent', 'instance', 'person', 'resource', 'action', 'decision', 'status', 'type', 'trace_id', 'args_digest'] as const;

export interface EventPage {
  events: Array<{ leaf_index: number; event: AuditEvent }>;
  /** Pass back as `cursor` for the next page; null when this page is the last. */
  next_cursor: string | null;
}

/** One page of events matching `filter`, in log order (or newest first), after `cursor`. */
export async function queryEvents(
  db: Queryable,
  filter: EventFilter,
  options: { limit?: number; cursor?: string | undefined; order?: 'asc' | 'desc' } = {},
): Promise<EventPage> {
  const limit = options.limit ?? 100;
  const order = options.order ?? 'asc';
  const columns: EventColumnFilter[] = [];
  for (const name of TEXT_FILTERS) {
    const value = filter[name];
    if (value === undefined || value === '') continue;
    if (value.endsWith('*')) {
      const prefix = clip(value.slice(0, -1)) as string;
      if (prefix !== '') columns.push({ column: name, prefix });
    } else {
      columns.push({ column: name, exact: clip(value) as string });
    }
  }
  const after = decodeCursor(options.cursor);
  const rows = await auditLogRepository(db).queryEvents({ columns, since: filter.since, until: filter.until, after, order, limit: limit + 1 });
  const page = rows.slice(0, limit).map((row) => ({ leaf_index: row.leaf_index, event: eventOf(row) }));
  const last = page.at(-1);
  return { events: page, next_cursor: rows.length > limit && last ? encodeCursor(last.leaf_index) : null };
}

/** Every event matching `filter`, in log order, read page by page. */
export async function* streamEvents(db: Queryable, filter: EventFilter, pageSize = 1000): AsyncGenerator<AuditEvent> {
  let cursor: string | undefined;
  for (;;) {
    const page = await queryEvents(db, filter, { limit: pageSize, cursor });
    for (const item of page.events) yield item.event;
    if (!page.next_cursor) return;
    cursor = page.next_cursor;
  }
}

/** An ISO-8601 time, or a duration back from `now` (`15m`, `24h`, `7d`), as the ISO instant the columns hold. */
export function instantFrom(value: string | undefined, now: Date, name = 'time'): string | undefined {
  if (value === undefined || value === '') return undefined;
  const seconds = parseDurationSeconds(value);
  const time = seconds !== undefined ? now.getTime() - seconds * 1000 : /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(time)) {
    throw new MandateError('ERR_VALIDATION', `invalid ${name}: must be an ISO-8601 time or a duration such as 15m, 24h, 7d`);
  }
  return new Date(time).toISOString();
}

/** Cursors are opaque to clients: the leaf index to continue after. */
export const encodeCursor = (leaf: number) => Buffer.from(`l${leaf}`).toString('base64url');

export function decodeCursor(cursor: string | undefined): number | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  const match = /^l(0|[1-9][0-9]{0,15})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match) throw new MandateError('ERR_AUDIT_CURSOR', 'cursor is not valid');
  return Number(match[1]);
}

export async function getEventAt(db: Queryable, leaf: number): Promise<AuditEvent> {
  const row = await auditLogRepository(db).eventAt(leaf);
  if (!row) throw refusal('ERR_AUDIT_EVENT_NOT_FOUND', `no audit event at leaf ${leaf}`);
  return eventOf(row);
}

export type { Dialect };
