// Durable audit writer: group commit into the store, one gap-free sequencer, per-chain heads
import crypto, { hash as digest } from 'node:crypto';
import { refusal } from '../errors.ts';
import { type AuditEventRow, auditAppendRepository, auditLogRepository } from '../store/repositories/audit-log.ts';
import { inSavepoint } from '../store/savepoint.ts';
import type { Store, Queryable } from '../store/store.ts';
import { auditBatchSize, auditCommitSeconds } from '../telemetry/metrics.ts';
import type { CheckpointKey } from './checkpoint-key.ts';
import { type AuditEvent, EVENT_TYPE, GENESIS_HASH, SEALED_TYPE, type UnhashedAuditEvent } from './event.ts';
import { canonicalize } from './jcs.ts';
import { columnsOf, createCheckpoint, decodeFrontier, encodeFrontier, type StoredCheckpoint } from './log-store.ts';
import { MerkleLog } from './merkle.ts';
import { type AuditRecord, type AuditWriter, type SealDetail, sealRecord, SYSTEM_CHAIN } from './writer.ts';

export interface StoreAuditWriterOptions {
  now?: () => Date;
  /** How long the first append of an idle writer waits for others to join its transaction (≤ 5 ms). */
  groupCommitMs?: number;
  /** Most events in one transaction. */
  maxBatch?: number;
  /** Signs checkpoints every `checkpointEveryMs` while the log grows, and on `checkpoint()`. */
  checkpointKey?: CheckpointKey;
  /** At most 60 s. */
  checkpointEveryMs?: number;
  /** Failures of background work (periodic checkpoints); appends report theirs to their caller. */
  onError?: (error: unknown) => void;
}

interface Pending {
  /** Null until `within` gave it. */
  record: AuditRecord | null;
  /** `appendWithin`: writes of the caller's run first in the transaction; they give the record. */
  within?: { work: (db: Queryable) => Promise<AuditRecord>; instead: (error: unknown) => AuditRecord };
  time: string;
  /** A `sealChain` request: resolves null when the chain was already sealed. */
  seal: boolean;
  resolve: (event: AuditEvent | null) => void;
  reject: (error: unknown) => void;
}

interface Head {
  seq: number;
  hash: string;
  sealed: boolean;
}

const CHAIN = /^(?:system|instance:[A-Za-z0-9._~:@-]{1,256})$/;
const KNOWN_CHAINS = 10_000;

/**
 * The audit writer over the store. Appends made in one event-loop turn, within `groupCommitMs` of
 * each other, or while a commit is running share one transaction; each append's promise resolves
 * only after that transaction committed, and rejects when it failed, so a caller that gates an
 * action on it fails closed.
 *
 * Every transaction first locks the single `audit_head` row: that is the sequencer. On
 * PostgreSQL replicas append one after another through that row lock, so leaf indexes have no
 * gaps and chain heads read after it are current; on SQLite the same statement takes the
 * database's one write lock. Chain heads come from `audit_chains` inside the transaction, so two
 * processes appending to one chain stay linked.
 *
 * A sealed chain takes no more events: anything recorded later about its instance (a refused
 * attempt with a revoked identity) goes to the `system` chain, still found by its instance.
 */
export class StoreAuditWriter implements AuditWriter {
  readonly #store: Store;
  readonly #now: () => Date;
  readonly #window: number;
  #immediate: NodeJS.Immediate | undefined;
  readonly #maxBatch: number;
  readonly #key: CheckpointKey | undefined;
  readonly #onError: (error: unknown) => void;
  #queue: Pending[] = [];
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #checkpointTimer: NodeJS.Timeout | undefined;
  #checkpointing: Promise<StoredCheckpoint> | undefined;
  #closed = false;
  #idle: Array<() => void> = [];
  /**
   * The tree size this writer last committed and the chain heads it knows as of then. While the
   * head row still shows that size under the lock, no other process has appended since, so these
   * heads are current and need not be read again.
   */
  #known: { size: number; heads: Map<string, Head> } | undefined;

  constructor(store: Store, options: StoreAuditWriterOptions = {}) {
    this.#store = store;
    this.#now = options.now ?? (() => new Date());
    this.#window = Math.min(5, Math.max(0, options.groupCommitMs ?? 0));
    this.#maxBatch = Math.max(1, options.maxBatch ?? 1000);
    this.#key = options.checkpointKey;
    this.#onError = options.onError ?? (() => {});
    if (this.#key) {
      const every = Math.min(60_000, Math.max(10, options.checkpointEveryMs ?? 60_000));
      this.#checkpointTimer = setInterval(() => {
        this.checkpoint().catch(this.#onError);
      }, every);
      this.#checkpointTimer.unref();
    }
  }

  append(record: AuditRecord): Promise<AuditEvent> {
    return this.#enqueue(record, false) as Promise<AuditEvent>;
  }

  appendWithin(work: (db: Queryable) => Promise<AuditRecord>, instead: (error: unknown) => AuditRecord): Promise<AuditEvent> {
    if (this.#closed) return Promise.reject(new Error('the audit writer is closed'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ record: null, within: { work, instead }, time: this.#now().toISOString(), seal: false, resolve: resolve as Pending['resolve'], reject });
      this.#schedule(this.#queue.length >= this.#maxBatch ? 0 : this.#window);
    });
  }

  /**
   * Close `chain` for good with a final `lifecycle.sealed` event (an instance was deprovisioned).
   * Resolves null when the chain was sealed already.
   */
  sealChain(chain: string, detail?: SealDetail): Promise<AuditEvent | null> {
    if (chain === SYSTEM_CHAIN) return Promise.reject(refusal('ERR_AUDIT_CHAIN_INVALID', 'the system chain is never sealed'));
    return this.#enqueue(sealRecord(chain, detail), true);
  }

  /** Sign a checkpoint of everything committed so far (or return the latest when nothing was added). */
  checkpoint(): Promise<StoredCheckpoint> {
    const key = this.#key;
    if (!key) return Promise.reject(new Error('this audit writer has no checkpoint key'));
    this.#checkpointing ??= createCheckpoint(this.#store.db, key, this.#now()).finally(() => {
      this.#checkpointing = undefined;
    });
    return this.#checkpointing;
  }

  /** Resolves once every append made so far has committed or failed. */
  flush(): Promise<void> {
    if (this.#queue.length === 0 && !this.#running) return Promise.resolve();
    return new Promise((resolve) => {
      this.#idle.push(resolve);
      this.#schedule(0);
    });
  }

  /** Stop taking appends, commit those queued, sign a last checkpoint. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#checkpointTimer);
    await this.flush();
    if (this.#key) await this.checkpoint().catch(this.#onError);
  }

  #enqueue(record: AuditRecord, seal: boolean): Promise<AuditEvent | null> {
    if (this.#closed) return Promise.reject(new Error('the audit writer is closed'));
    const invalid = invalidRecord(record);
    if (invalid) return Promise.reject(invalid);
    return new Promise((resolve, reject) => {
      this.#queue.push({ record, time: this.#now().toISOString(), seal, resolve, reject });
      this.#schedule(this.#queue.length >= this.#maxBatch ? 0 : this.#window);
    });
  }

  #schedule(delay: number): void {
    if (this.#running) return; // the running commit picks the queue up when it ends
    if (delay === 0) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      // After the I/O callbacks of this event-loop turn, not as a microtask: the calls whose bytes
      // arrived together reach their append first and share one transaction. On SQLite a commit
      // runs synchronously, so as a microtask every append was its own transaction.
      if (this.#immediate === undefined) {
        this.#immediate = setImmediate(() => {
          this.#immediate = undefined;
          this.#run();
        });
      }
    } else {
      this.#timer ??= setTimeout(() => {
        this.#timer = undefined;
        this.#run();
      }, delay);
    }
  }

  #run(): void {
    if (this.#running) return;
    if (this.#queue.length === 0) {
      for (const resolve of this.#idle.splice(0)) resolve();
      return;
    }
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#queue.splice(0, this.#maxBatch);
    this.#running = this.#commit(batch).finally(() => {
      this.#running = undefined;
      // What queued meanwhile has waited at least one commit: go again at once.
      this.#run();
    });
  }

  async #commit(batch: Pending[]): Promise<void> {
    const outcomes: Array<AuditEvent | null | { error: unknown }> = [];
    const started = performance.now();
    try {
      this.#known = await this.#store.transaction((trx) => this.#write(trx, batch, outcomes));
      auditCommitSeconds.observe((performance.now() - started) / 1000);
      auditBatchSize.observe(batch.length);
    } catch (error) {
      this.#known = undefined;
      for (const item of batch) item.reject(error);
      return;
    }
    batch.forEach((item, i) => {
      const outcome = outcomes[i] ?? null;
      if (outcome && 'error' in outcome) item.reject(outcome.error);
      else item.resolve(outcome);
    });
  }

  async #write(trx: Queryable, batch: Pending[], outcomes: Array<AuditEvent | null | { error: unknown }>): Promise<{ size: number; heads: Map<string, Head> } | undefined> {
    const auditLog = auditLogRepository(trx);
    const appends = auditAppendRepository(trx, this.#store.dialect);
    // The sequencer: a write to the one head row takes its lock (PostgreSQL) or the write lock (SQLite).
    const headRow = await auditLog.lockHead();
    if (!headRow) throw new Error('the audit tree head is missing');
    const size = headRow.size;
    const log = MerkleLog.restore(size, decodeFrontier(headRow.frontier));
    // Writes that ride with their event run first, in order, each undone alone should it fail.
    const records: Array<AuditRecord | { error: unknown }> = [];
    for (const item of batch) records.push(item.within ? await this.#within(trx, item.within) : (item.record as AuditRecord));
    const chains = [...new Set([SYSTEM_CHAIN, ...records.flatMap((r) => ('error' in r ? [] : [r.chain]))])];
    // Updated in place: a failed transaction forgets it (#commit), so it never outlives a rollback.
    const heads = this.#known?.size === size ? this.#known.heads : new Map<string, Head>();
    const unknown = chains.filter((chain) => !heads.has(chain));
    if (unknown.length > 0) {
      const loaded = await auditLog.chainHeads(unknown);
      // A chain with no row yet starts at the genesis hash: remember that too.
      for (const chain of unknown) heads.set(chain, loaded.get(chain) ?? { seq: 0, hash: GENESIS_HASH, sealed: false });
    }
    const touched = new Set<string>();
    const rows: AuditEventRow[] = [];
    for (const [i, item] of batch.entries()) {
      const record = records[i]!;
      if ('error' in record) {
        outcomes.push(record);
        continue;
      }
      try {
        let chain = record.chain;
        let head = heads.get(chain);
        if (head?.sealed) {
          if (item.seal) {
            outcomes.push(null);
            continue;
          }
          chain = SYSTEM_CHAIN;
          head = heads.get(chain);
        }
        const unhashed = {
          ...record,
          chain,
          id: crypto.randomUUID(),
          time: item.time,
          seq: (head?.seq ?? 0) + 1,
          prev_hash: head?.hash ?? GENESIS_HASH,
          hash: undefined,
        } as UnhashedAuditEvent;
        const body = canonicalize(unhashed);
        const hash = digest('sha256', body, 'hex');
        const event = { ...unhashed, hash } as AuditEvent;
        const leaf = log.appendEventHash(hash);
        rows.push({ ...columnsOf(event), leaf_index: leaf, hash, body });
        heads.set(chain, { seq: event.seq, hash, sealed: event.type === SEALED_TYPE });
        touched.add(chain);
        outcomes.push(event);
      } catch (error) {
        // Only this record is refused (it is not JSON): the others still commit.
        outcomes.push({ error });
      }
    }
    if (rows.length === 0) return this.#known?.size === size ? this.#known : undefined;
    await appends.appendEvents(rows);
    const now = this.#now().toISOString();
    await appends.putChainHeads([...touched].map((chain) => ({ chain, ...(heads.get(chain) as Head) })), now);
    await auditLog.setHead({ size: log.size, frontier: encodeFrontier(log.frontier()) }, now);
    // Remember at most so many chains; past that, start over from what this batch touched.
    if (heads.size > KNOWN_CHAINS) for (const chain of heads.keys()) if (!touched.has(chain)) heads.delete(chain);
    return { size: log.size, heads };
  }

  async #within(trx: Queryable, within: NonNullable<Pending['within']>): Promise<AuditRecord | { error: unknown }> {
    let record: AuditRecord;
    try {
      record = await inSavepoint(trx, within.work);
    } catch (error) {
      try {
        record = within.instead(error);
      } catch (failed) {
        return { error: failed };
      }
    }
    const invalid = invalidRecord(record);
    return invalid ? { error: invalid } : record;
  }
}

function invalidRecord(record: AuditRecord): Error | null {
  if (typeof record?.chain !== 'string' || !CHAIN.test(record.chain)) return refusal('ERR_AUDIT_EVENT_INVALID', 'audit chain must be system or instance:<id>');
  if (typeof record.type !== 'string' || !EVENT_TYPE.test(record.type) || record.type.length > 128) {
    return refusal('ERR_AUDIT_EVENT_INVALID', `audit event type ${String(record.type)} is not valid`);
  }
  return null;
}
