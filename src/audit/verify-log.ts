// Verify the stored audit log: every hash chain, the RFC 9162 tree, and its signed checkpoints
import { hash as digest } from 'node:crypto';
import type { Kysely } from 'kysely';
import { auditLogRepository, auditSnapshot } from '../store/repositories/audit-log.ts';
import type { Database } from '../store/schema.ts';
import { type BreakKind, verifyChain } from './chain.ts';
import { parseCheckpoint, verifyCheckpoint } from './checkpoint.ts';
import { type AuditEvent, GENESIS_HASH, parseAuditEvent, SEALED_TYPE } from './event.ts';
import { canonicalize } from './jcs.ts';
import { columnsOf, decodeFrontier, type EventRow, eventOf, rootOf } from './log-store.ts';
import { EMPTY_ROOT, leafHash, MerkleLog } from './merkle.ts';
import type { NoteVerifier } from './note.ts';

/**
 * Log-wide findings. `leaf_missing`: a gap in leaf indexes. `root_mismatch`: the leaves no longer
 * hash to the root a stored checkpoint signed. `head_mismatch`: the tree head row disagrees with
 * the leaves. `truncated`: the log is shorter than its own head or checkpoints say. `rolled_back`:
 * it is shorter than a checkpoint saved outside it. `fork`: at a checkpoint's size it has another
 * root than that signed checkpoint (two signed roots for one size). `checkpoint_invalid`: a
 * checkpoint whose signature, origin or stored columns do not hold.
 */
export type LogBreakKind =
  | 'leaf_missing'
  | 'root_mismatch'
  | 'head_mismatch'
  | 'truncated'
  | 'rolled_back'
  | 'fork'
  | 'checkpoint_invalid';

export interface VerifyBreak {
  /** The chain, or null for a finding about the log as a whole. */
  chain: string | null;
  seq: number | null;
  leaf_index: number | null;
  kind: BreakKind | LogBreakKind;
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  scope: 'log' | 'chain';
  chain?: string;
  deep: boolean;
  /** Events read and checked. */
  events: number;
  chains: number;
  /** Tree size at the moment verification started. */
  size: number;
  /** Base64 root recomputed from the leaves (log scope, no gap). */
  root: string | null;
  checkpoints: {
    stored: number;
    /** Signature checked against a trusted key. */
    verified: number;
    /** Read without a signature check: no trusted key was given. */
    unverified: number;
    latest: { size: number; root: string } | null;
    /** Newest leaves no signed checkpoint covers yet (at most a minute's worth in a running server). */
    uncovered: number;
    saved: number;
  };
  /** The first broken place: the earliest chain break in log order, else the first log-wide one. */
  first: VerifyBreak | null;
  breaks: VerifyBreak[];
  warnings: string[];
  elapsed_ms: number;
}

export interface VerifyOptions {
  /** Verify one chain only (no tree). */
  chain?: string | undefined;
  /** Also parse and schema-check every event, its canonical form and its query columns. */
  deep?: boolean | undefined;
  /** Keys trusted to sign checkpoints. Without any, signatures cannot be checked (a warning). */
  trusted?: readonly NoteVerifier[];
  origin?: string | undefined;
  /** Checkpoints kept outside the database (signed notes), to detect rollback and forks. */
  saved?: readonly string[];
  pageSize?: number;
}

export interface ChainState {
  seq: number;
  hash: string;
  sealed: boolean;
  broken: boolean;
  count: number;
}

export interface Target {
  size: number;
  root: Uint8Array;
  source: 'stored' | 'saved';
}

/** A stored event row as read (bigint columns may come back as strings from PostgreSQL). */
export type Row = Pick<EventRow, 'chain' | 'hash' | 'body'> & Partial<Omit<EventRow, 'leaf_index' | 'seq'>> & { leaf_index: number | string; seq: number | string };

const DIAGNOSED_CHAINS = 32;

/**
 * Verify the log as committed when the call starts (appends may continue meanwhile). Hashes the
 * stored canonical text directly; the chain links and seqs are read from that text.
 */
export async function verifyAuditLog(db: Kysely<Database>, options: VerifyOptions = {}): Promise<VerifyReport> {
  const started = performance.now();
  const pageSize = options.pageSize ?? 10_000;
  const deep = options.deep ?? false;
  const trusted = options.trusted ?? [];
  const warnings: string[] = [];
  const logBreaks: VerifyBreak[] = [];
  const logBreak = (kind: LogBreakKind, message: string, leaf: number | null = null) =>
    logBreaks.push({ chain: null, seq: null, leaf_index: leaf, kind, message });

  // One consistent snapshot of the tree head, chain heads and checkpoints (they change together).
  const snap = await auditSnapshot(db, options.chain);
  const size = Number(snap.head?.size ?? 0);
  if (!snap.head) logBreak('head_mismatch', 'the tree head row is missing');
  const recorded = new Map(snap.heads.map((h) => [h.chain, { seq: Number(h.seq), hash: h.hash }]));

  // Checkpoints: authenticate, then collect the roots the leaves must reproduce.
  const targets: Target[] = [];
  let verified = 0;
  let unverified = 0;
  const check = (note: string, source: 'stored' | 'saved', columns?: { size: number; root: string }) => {
    let parsed: { size: number; rootHash: Uint8Array; origin: string };
    try {
      parsed = trusted.length > 0 ? verifyCheckpoint(note, trusted, { origin: options.origin }) : parseCheckpoint(note);
      if (trusted.length > 0) verified++;
      else unverified++;
    } catch (error) {
      // A checkpoint no trusted key signed proves nothing and may be a forgery; after a key
      // rotation the old verifier key must be given too.
      const code = (error as { code?: string }).code;
      const reason = code === 'ERR_NOTE_UNVERIFIED' ? 'signed by none of the trusted keys (give the old vkey too if the key was rotated)' : (error as Error).message;
      logBreak('checkpoint_invalid', `${source} checkpoint${columns ? ` ${columns.size}` : ''}: ${reason}`);
      return;
    }
    if (columns && (parsed.size !== columns.size || Buffer.from(parsed.rootHash).toString('hex') !== columns.root)) {
      logBreak('checkpoint_invalid', `stored checkpoint ${columns.size}: its columns differ from its signed note`);
      return;
    }
    targets.push({ size: parsed.size, root: parsed.rootHash, source });
  };
  for (const row of snap.checkpoints) check(row.note, 'stored', { size: Number(row.size), root: row.root });
  for (const note of options.saved ?? []) check(note, 'saved');
  if (trusted.length === 0 && targets.length > 0) {
    warnings.push('checkpoint signatures were not checked: no trusted verifier key (give --vkey or the master key)');
  }
  // Two signed roots for one size: the log forked, whatever the leaves say.
  const bySize = new Map<number, Target>();
  for (const t of targets) {
    const other = bySize.get(t.size);
    if (other && Buffer.compare(other.root, t.root) !== 0) {
      logBreak('fork', `two checkpoints of size ${t.size} sign different roots (${other.source} and ${t.source})`, t.size);
    }
    bySize.set(t.size, t);
  }
  targets.sort((a, b) => a.size - b.size);

  // One pass over the leaves in log order.
  const pass = new LeafPass({ deep, tree: !options.chain, targets, logBreak });
  const auditLog = auditLogRepository(db);
  let after = -1;
  for (;;) {
    const page = await auditLog.leavesPage({ after, size, chain: options.chain, deep, limit: pageSize });
    for (const row of page) pass.add(row as unknown as Row);
    if (page.length < pageSize) break;
    after = Number(page.at(-1)!.leaf_index);
  }
  const { tree, gap, states, chainBreaks, events } = pass;
  const t = pass.reached;

  let root: string | null = null;
  if (options.chain) {
    warnings.push('chain scope: the Merkle tree and checkpoints were not recomputed');
    for (const target of targets) {
      if (target.size > size) logBreak(target.source === 'saved' ? 'rolled_back' : 'truncated', `the log has ${size} leaves, a checkpoint signed ${target.size}`, size);
    }
  } else {
    if (!gap && tree.size < size) logBreak('truncated', `the log ends at leaf ${tree.size - 1}, its head records ${size} leaves`, tree.size);
    for (const target of targets.slice(t)) {
      if (gap && target.size <= size) continue;
      logBreak(
        target.source === 'saved' ? 'rolled_back' : 'truncated',
        target.source === 'saved'
          ? `the log has ${tree.size} leaves, but a checkpoint saved earlier signed ${target.size}: it was rolled back or truncated`
          : `the log has ${tree.size} leaves, but checkpoint ${target.size} signed more`,
        tree.size,
      );
    }
    if (!gap && snap.head && tree.size === size) {
      const computed = tree.root();
      root = Buffer.from(computed).toString('base64');
      let recordedRoot: Uint8Array | undefined;
      try {
        recordedRoot = rootOf({ size, frontier: decodeFrontier(snap.head.frontier) });
      } catch {
        // a frontier that does not fit its size: reported just below
      }
      if (!recordedRoot || Buffer.compare(computed, recordedRoot) !== 0) {
        logBreak('head_mismatch', 'the tree head row does not match the leaves', size);
      }
    }
  }

  // Chain heads as the writer recorded them: a shorter chain was truncated.
  for (const [chain, head] of recorded) {
    const state = states.get(chain);
    if (state?.broken) continue;
    const seq = state?.seq ?? 0;
    const found = (kind: BreakKind, at: number, message: string) =>
      chainBreaks.set(chain, { chain, seq: at, leaf_index: null, kind, message, diagnose: false });
    if (seq < head.seq) found('truncated', seq + 1, `chain ends at ${seq}, its head records ${head.seq}`);
    else if (seq === head.seq && state && state.hash !== head.hash) found('modified', seq, `event ${seq} differs from the recorded head`);
    else if (seq > head.seq) found('inserted', head.seq + 1, `events past the recorded head ${head.seq}`);
  }
  for (const [chain, state] of states) {
    if (!state.broken && !recorded.has(chain)) {
      chainBreaks.set(chain, { chain, seq: 1, leaf_index: null, kind: 'inserted', message: 'chain has no recorded head', diagnose: false });
    }
  }

  // Name what is wrong where the pass only saw a seq or a link fail.
  let diagnosed = 0;
  for (const found of chainBreaks.values()) {
    if (!found.diagnose || diagnosed++ >= DIAGNOSED_CHAINS) continue;
    const better = await diagnose(db, found.chain as string, size);
    if (better) Object.assign(found, better);
  }

  const breaks: VerifyBreak[] = [...chainBreaks.values()]
    .map(({ diagnose: _, ...b }) => b)
    .sort((a, b) => (a.leaf_index ?? Infinity) - (b.leaf_index ?? Infinity) || String(a.chain).localeCompare(String(b.chain)));
  breaks.push(...logBreaks);
  const latest = targets.filter((x) => x.source === 'stored').at(-1);
  return {
    ok: breaks.length === 0,
    scope: options.chain ? 'chain' : 'log',
    ...(options.chain ? { chain: options.chain } : {}),
    deep,
    events,
    chains: states.size,
    size,
    root,
    checkpoints: {
      stored: snap.checkpoints.length,
      verified,
      unverified,
      latest: latest ? { size: latest.size, root: Buffer.from(latest.root).toString('base64') } : null,
      uncovered: Math.max(0, size - (latest?.size ?? 0)),
      saved: options.saved?.length ?? 0,
    },
    first: breaks[0] ?? null,
    breaks,
    warnings,
    elapsed_ms: Math.round(performance.now() - started),
  };
}

/**
 * The per-leaf work of verification, fed rows in log order: the hash of the stored text, the
 * chain link and seq read from it, the Merkle tree over the leaves and the checkpoint roots it
 * must reach. Kept apart from the database so its cost can be measured on its own.
 */
export class LeafPass {
  readonly states = new Map<string, ChainState>();
  readonly chainBreaks = new Map<string, VerifyBreak & { diagnose: boolean }>();
  readonly tree = new MerkleLog();
  gap = false;
  events = 0;
  /** How many of the targets (sorted by size) the tree has reached. */
  reached = 0;
  readonly #deep: boolean;
  readonly #withTree: boolean;
  readonly #targets: readonly Target[];
  readonly #logBreak: (kind: LogBreakKind, message: string, leaf?: number | null) => void;

  constructor(options: {
    deep: boolean;
    tree: boolean;
    targets: readonly Target[];
    logBreak: (kind: LogBreakKind, message: string, leaf?: number | null) => void;
  }) {
    this.#deep = options.deep;
    this.#withTree = options.tree;
    this.#targets = options.targets;
    this.#logBreak = options.logBreak;
    if (this.#withTree) this.#reach();
  }

  add(row: Row): void {
    row.leaf_index = Number(row.leaf_index);
    row.seq = Number(row.seq);
    this.events++;
    if (this.#withTree && !this.gap) {
      if (row.leaf_index !== this.tree.size) {
        this.gap = true;
        this.#logBreak('leaf_missing', `leaf ${this.tree.size} is missing (the next is ${row.leaf_index})`, this.tree.size);
      } else {
        // A hash column that is not 64 hex digits still takes a leaf (of its text), so the tree stays aligned.
        if (this.tree.appendEventHash(row.hash) < 0) this.tree.append(leafHash(Buffer.from(row.hash)));
        if (this.reached < this.#targets.length && (this.#targets[this.reached] as Target).size <= this.tree.size) this.#reach();
      }
    }
    this.#check(row);
  }

  #reach(): void {
    const targets = this.#targets;
    while (this.reached < targets.length && (targets[this.reached] as Target).size <= this.tree.size) {
      const target = targets[this.reached++] as Target;
      if (target.size < this.tree.size) continue;
      const root = target.size === 0 ? EMPTY_ROOT : this.tree.root();
      if (Buffer.compare(root, target.root) === 0) continue;
      if (target.source === 'saved') {
        this.#logBreak('fork', `at size ${target.size} the log's root differs from the one a saved checkpoint signed: history was rewritten`, target.size);
      } else {
        this.#logBreak('root_mismatch', `the first ${target.size} leaves no longer hash to the root checkpoint ${target.size} signed`, target.size);
      }
    }
  }

  #break(row: Row, state: ChainState, kind: BreakKind, message: string, diagnose = false, seq = row.seq as number): void {
    state.broken = true;
    this.chainBreaks.set(row.chain, { chain: row.chain, seq, leaf_index: row.leaf_index as number, kind, message, diagnose });
  }

  #check(row: Row): void {
    let state = this.states.get(row.chain);
    if (!state) {
      state = { seq: 0, hash: GENESIS_HASH, sealed: false, broken: false, count: 0 };
      this.states.set(row.chain, state);
    }
    state.count++;
    if (state.broken) return;
    const body = row.body;
    if (digest('sha256', body, 'hex') !== row.hash) {
      return this.#break(row, state, 'modified', `event ${row.seq} does not match its hash`);
    }
    const at = linkPositions(body);
    const fields = at ? undefined : linkFields(body);
    if (!at && !fields) return this.#break(row, state, 'modified', `event ${row.seq} is not an audit event`);
    const seq = at ? at.seq : (fields as LinkFields).seq;
    const sameChain = at ? matchesAt(body, at.chain, row.chain, 34) : (fields as LinkFields).chain === row.chain;
    if (!sameChain || seq !== row.seq) {
      return this.#break(row, state, 'modified', `stored chain/seq columns of event ${seq} differ from the event`);
    }
    if (state.sealed) return this.#break(row, state, 'after_seal', `event ${row.seq} follows the seal`);
    if (seq !== state.seq + 1) {
      const kind = seq > state.seq + 1 ? 'deleted' : 'reordered';
      return this.#break(row, state, kind, `event ${state.seq + 1} was expected, ${row.seq} found`, true, kind === 'deleted' ? state.seq + 1 : seq);
    }
    if (at ? !matchesAt(body, at.prev, state.hash, 34) : (fields as LinkFields).prev !== state.hash) {
      return this.#break(row, state, 'modified', `event ${row.seq} does not link to event ${state.seq}`, true);
    }
    if (this.#deep) {
      const problem = deepProblem(row);
      if (problem) return this.#break(row, state, 'modified', `event ${row.seq}: ${problem}`);
    }
    state.seq = seq;
    state.hash = row.hash;
    state.sealed = at ? at.sealed : (fields as LinkFields).sealed;
  }
}

/** Re-read one broken chain in log order and let `verifyChain` name the break. */
async function diagnose(db: Kysely<Database>, chain: string, size: number): Promise<Partial<VerifyBreak> | undefined> {
  const rows = await auditLogRepository(db).chainEvents(chain, size);
  const events: AuditEvent[] = [];
  const leaves: number[] = [];
  for (const row of rows) {
    try {
      events.push(eventOf(row));
      leaves.push(Number(row.leaf_index));
    } catch {
      return undefined;
    }
  }
  const result = verifyChain(events);
  if (result.ok) return undefined;
  const at = events.findIndex((e) => e.seq === result.break.seq);
  return {
    seq: result.break.seq,
    kind: result.break.kind,
    message: result.break.message,
    leaf_index: at >= 0 ? (leaves[at] as number) : null,
  };
}

/** Deep mode: the text is a valid event in canonical form and the query columns repeat it. */
function deepProblem(row: Row): string | undefined {
  let event: AuditEvent;
  try {
    event = parseAuditEvent(eventOf(row));
  } catch (error) {
    return `not a valid audit event (${(error as Error).message})`;
  }
  if (canonicalize({ ...event, hash: undefined }) !== row.body) return 'stored text is not in canonical form';
  const expected = columnsOf(event) as Record<string, unknown>;
  for (const [name, value] of Object.entries(expected)) {
    const stored = (row as Record<string, unknown>)[name];
    if ((name === 'seq' ? Number(stored) : stored) !== value) return `stored column ${name} differs from the event`;
  }
  return undefined;
}

const CHAIN_TOKEN = '"chain":"';
const SEQ_TOKEN = '"seq":';
const PREV_TOKEN = '"prev_hash":"';
const SEALED_SUFFIX = `"type":"${SEALED_TYPE}"}`;

/**
 * chain, seq and prev_hash of a stored event without parsing it. In RFC 8785 text members are
 * sorted and a quote inside a string is always escaped, so `"name":` is a member name; the only
 * members that may nest free-form names (`args`, then `actor`, `data`, `reasons` with fixed
 * shapes) sort before `chain`, `prev_hash` and `seq` or hold none of them, so the last occurrence
 * of each is the event's own. `type` sorts last, so the suffix tells a seal. Text that is not
 * shaped like an event takes the JSON.parse path; `deep` verification schema-checks every event.
 */
export function linkFields(body: string): LinkFields | null {
  const at = linkPositions(body);
  if (at) {
    return {
      chain: body.slice(at.chain, body.indexOf('"', at.chain)),
      seq: at.seq,
      prev: body.slice(at.prev, at.prev + 64),
      sealed: at.sealed,
    };
  }
  try {
    const value = JSON.parse(body) as Record<string, unknown>;
    if (typeof value.chain === 'string' && Number.isSafeInteger(value.seq) && typeof value.prev_hash === 'string') {
      return { chain: value.chain, seq: value.seq as number, prev: value.prev_hash, sealed: value.type === SEALED_TYPE };
    }
  } catch {
    // not JSON
  }
  return null;
}

export interface LinkFields {
  chain: string;
  seq: number;
  prev: string;
  sealed: boolean;
}

/** Where the chain and prev_hash values start, and the seq, without allocating; null when not found. */
function linkPositions(body: string): { chain: number; prev: number; seq: number; sealed: boolean } | null {
  const p = body.lastIndexOf(PREV_TOKEN);
  const s = body.lastIndexOf(SEQ_TOKEN);
  if (p < 0 || s < p || body.charCodeAt(p + 77) !== 34) return null;
  const c = body.lastIndexOf(CHAIN_TOKEN, p);
  if (c < 0) return null;
  let seq = 0;
  let e = s + SEQ_TOKEN.length;
  for (let d = body.charCodeAt(e); d >= 48 && d <= 57; d = body.charCodeAt(++e)) seq = seq * 10 + (d - 48);
  if (e === s + SEQ_TOKEN.length || e - s - SEQ_TOKEN.length > 15) return null;
  return { chain: c + CHAIN_TOKEN.length, prev: p + PREV_TOKEN.length, seq, sealed: body.endsWith(SEALED_SUFFIX) };
}

/** Does `body` hold exactly `value` at `at`, followed by the char code `end`? */
function matchesAt(body: string, at: number, value: string, end: number): boolean {
  return body.startsWith(value, at) && body.charCodeAt(at + value.length) === end;
}
