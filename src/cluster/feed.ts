import crypto from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Database } from '../store/schema.ts';
import type { Store } from '../store/store.ts';
import { feedLag, feedLosses, feedResyncs, revocationPropagation } from '../telemetry/metrics.ts';
import { type Change, decodeChange, encodeChange, senderOf, sentAtOf } from './changes.ts';

/** `local`: this replica made the change (it alone does the work that must happen once). */
export type ChangeHandler = (change: Change, origin: 'local' | 'remote') => Promise<void> | void;

/** What a replica needs to send changes: inside a transaction (with its commit) or on its own. */
export interface ChangeTransport {
  notify(db: Store['db'] | Transaction<Database>, payload: string): Promise<void>;
  /** Start receiving; `onPayload` for every change sent, `onLost` when some may have been missed. */
  listen(onPayload: (payload: string) => void, onLost: (error: Error) => void): Promise<void>;
  close(): Promise<void>;
}

export interface FeedStatus {
  synchronized: boolean;
  /** Since when the replica has been in its current state (ISO 8601). */
  since: string;
  /** Why the replica is not synchronized, when it is not. */
  reason?: string;
}

/** Changes that end access: their propagation time is what a security team is promised. */
const REVOCATIONS = new Set<Change['kind']>(['mandates.revoked', 'instance.revoked', 'keys.revoked']);

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2_000;

/**
 * The change feed of one replica: publishes what it changes, applies what every replica changes,
 * and knows whether it is synchronized. While it is not (the listening connection was lost and not
 * yet re-established and followed by a full resync), caches are bypassed and enforcement points
 * refuse with 503: a replica never serves from state it cannot prove current.
 *
 * Changes are applied one at a time, in the order received. A handler that fails makes the replica
 * unsynchronized until a full resync succeeds.
 */
export class ChangeFeed {
  readonly #store: Store;
  readonly #transport: ChangeTransport;
  readonly #handlers: ChangeHandler[] = [];
  readonly #onError: (error: Error) => void;
  /** Names this replica on the wire. */
  readonly id = crypto.randomUUID();
  #synchronized = false;
  #since = new Date().toISOString();
  #reason: string | undefined = 'starting';
  #epoch = 0;
  #queue: Promise<void> = Promise.resolve();
  #closed = false;
  #retry: NodeJS.Timeout | undefined;
  #retryMs = RETRY_MIN_MS;
  /** Counts losses: a resync begun before the latest loss does not make the replica synchronized. */
  #losses = 0;

  constructor(store: Store, transport: ChangeTransport, onError: (error: Error) => void = () => {}) {
    this.#store = store;
    this.#transport = transport;
    this.#onError = onError;
  }

  get synchronized(): boolean {
    return this.#synchronized;
  }

  /** Bumped by every change applied and every loss of synchronization; cache fills compare it. */
  get epoch(): number {
    return this.#epoch;
  }

  status(): FeedStatus {
    return { synchronized: this.#synchronized, since: this.#since, ...(this.#reason ? { reason: this.#reason } : {}) };
  }

  /** Handlers run for every change (this replica's and others') and with `resync` after a reconnect. */
  subscribe(handler: ChangeHandler): void {
    this.#handlers.push(handler);
  }

  /** Listen, then resynchronize from the tables. Throws when the first connection fails. */
  async start(): Promise<void> {
    await this.#connect();
  }

  /**
   * Runs `work` in one transaction. Changes it emits are sent with the commit (PostgreSQL delivers
   * NOTIFY only when the transaction commits, never on rollback) and applied here before returning.
   */
  async transaction<T>(work: (trx: Transaction<Database>, emit: (change: Change) => Promise<void>) => Promise<T>): Promise<T> {
    const changes: Array<{ change: Change; at: number }> = [];
    const result = await this.#store.transaction((trx) =>
      work(trx, async (change) => {
        const at = Date.now();
        changes.push({ change, at });
        await this.#transport.notify(trx, encodeChange(change, this.id, at));
      }),
    );
    for (const { change, at } of changes) await this.#enqueue(change, 'local', undefined, at);
    return result;
  }

  /** Sends and applies a change whose state is already committed. */
  async publish(change: Change): Promise<void> {
    const at = Date.now();
    try {
      await this.#transport.notify(this.#store.db, encodeChange(change, this.id, at));
    } finally {
      await this.#enqueue(change, 'local', undefined, at);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#unsynchronized('closed');
    await this.#transport.close();
    await this.#queue;
  }

  async #connect(): Promise<void> {
    const losses = this.#losses;
    await this.#transport.listen(
      (payload) => {
        if (senderOf(payload) !== this.id) void this.#enqueue(decodeChange(payload), 'remote', undefined, sentAtOf(payload));
      },
      (error) => this.#lost(error),
    );
    await this.#enqueue({ kind: 'resync' }, 'local', losses);
    if (!this.#synchronized) throw new Error(`could not resynchronize: ${this.#reason}`);
  }

  /** `losses`: how many losses the listening connection this change depends on had seen; `at`: when it was sent. */
  #enqueue(change: Change, origin: 'local' | 'remote', losses?: number, at?: number): Promise<void> {
    const run = this.#queue.then(() => this.#apply(change, origin, losses ?? this.#losses, at));
    this.#queue = run;
    return run;
  }

  async #apply(change: Change, origin: 'local' | 'remote', losses: number, at: number | undefined): Promise<void> {
    this.#epoch++;
    try {
      for (const handler of this.#handlers) await handler(change, origin);
      if (at !== undefined) {
        // Clocks of two replicas may disagree by a little: a change is never applied before it was sent.
        const seconds = Math.max(0, Date.now() - at) / 1000;
        feedLag.labels(origin).observe(seconds);
        if (REVOCATIONS.has(change.kind)) revocationPropagation.labels(change.kind, origin).observe(seconds);
      }
      if (change.kind === 'resync' && !this.#closed && losses === this.#losses) {
        feedResyncs.inc();
        this.#synchronized = true;
        this.#since = new Date().toISOString();
        this.#reason = undefined;
        this.#retryMs = RETRY_MIN_MS;
      }
    } catch (error) {
      this.#lost(error as Error);
    }
  }

  #unsynchronized(reason: string): void {
    this.#epoch++;
    if (this.#synchronized || this.#reason !== reason) this.#since = new Date().toISOString();
    this.#synchronized = false;
    this.#reason = reason;
  }

  /** Changes may have been missed: stop trusting memory, reconnect, resync. */
  #lost(error: Error): void {
    if (this.#closed) return;
    feedLosses.inc();
    this.#losses++;
    this.#unsynchronized(error.message || 'change feed lost');
    this.#onError(error);
    if (this.#retry) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#connect().catch((e: unknown) => this.#lost(e as Error));
    }, this.#retryMs);
    this.#retry.unref();
    this.#retryMs = Math.min(RETRY_MAX_MS, this.#retryMs * 2);
  }
}

/** One process over SQLite: every change is this replica's own, applied in process. */
export const localTransport: ChangeTransport = {
  notify: async () => {},
  listen: async () => {},
  close: async () => {},
};
