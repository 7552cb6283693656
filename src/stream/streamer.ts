import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { MasterKey } from '../identity/master-key.ts';
import { type TrailSinkRow, trailSinksRepository } from '../store/repositories/trail-sinks.ts';
import type { Queryable } from '../store/store.ts';
import { backoffMs } from './backoff.ts';
import { renderEvents } from './render.ts';
import { filterOf, settingsOf, trailSinkSecret } from './sinks.ts';
import type { TrailFormat, TrailSinkKind } from './spec.ts';
import { openTransport } from './transports/index.ts';
import type { TrailTransport } from './transport.ts';

/**
 * Streams the trail to every active trail sink, at least once. The trail is the buffer: each
 * sink's cursor is a global log position; the loop reads the events the sink takes after it in
 * log order (so each chain's order holds), sends them in batches, and moves the cursor only
 * once they are delivered. Nothing here sits on the enforcement path: appends never wait for a
 * sink, and a sink that is down only grows its lag. A failure leaves the cursor, waits (backoff
 * with jitter) and sends the same events again; every event carries its id, so a receiver drops
 * what it saw twice. One replica at a time holds a sink's lease and delivers for it.
 *
 * Plain syslog streams (RFC 6587/5425) acknowledge nothing: what was written counts once the
 * same connection stayed up `confirmMs` after it; a connection lost sooner sends it again.
 */
export interface StreamerOptions {
  db: Queryable;
  master: MasterKey;
  logger: Logger;
  now: () => Date;
  productVersion: string;
  intervalMs?: number;
  leaseSeconds?: number;
  batchSize?: number;
  confirmMs?: number;
  timeoutMs?: number;
  onDelivered?: (sink: string, events: number) => void;
  onError?: (sink: string) => void;
}

interface Sent {
  through: number;
  count: number;
  at: number;
  epoch: number;
}

interface SinkState {
  identity: string;
  row: TrailSinkRow;
  transport: TrailTransport | undefined;
  /** Last position sent, and last position stored as delivered. */
  position: number;
  confirmed: number;
  unconfirmed: Sent[];
  retryAt: number;
}

/** A changed definition (removed and added again, re-keyed) starts a fresh state. */
const identityOf = (row: TrailSinkRow) => [row.created_at, row.kind, row.format, row.settings, row.secret_sealed, row.events, row.environments].join('\u0000');

export class TrailStreamer {
  readonly #o: Required<StreamerOptions>;
  readonly #owner = `t_${randomUUID()}`;
  readonly #states = new Map<string, SinkState>();
  readonly #pumping = new Map<string, Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #stopped = false;

  constructor(options: StreamerOptions) {
    this.#o = { intervalMs: 200, leaseSeconds: 30, batchSize: 1000, confirmMs: 1000, timeoutMs: 10_000, onDelivered: () => {}, onError: () => {}, ...options };
  }

  get #repo() {
    return trailSinksRepository(this.#o.db);
  }

  start(): void {
    this.#schedule();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#ticking;
    await Promise.all(this.#pumping.values());
    for (const [name] of this.#states) await this.#drop(name);
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#ticking = this.tick()
        .catch((error: unknown) => this.#o.logger.warn({ err: (error as Error).message }, 'trail streaming pass failed; retrying'))
        .finally(() => this.#schedule());
    }, this.#o.intervalMs);
    this.#timer.unref();
  }

  /** Start a pump for every active sink not pumping already; resolves once they are started. */
  async tick(): Promise<void> {
    const rows = await this.#repo.list();
    const active = new Map(rows.filter((r) => !r.paused_at).map((r) => [r.name, r]));
    for (const [name, state] of this.#states) {
      const row = active.get(name);
      if (!this.#pumping.has(name) && (!row || identityOf(row) !== state.identity)) await this.#drop(name);
    }
    for (const row of active.values()) {
      if (this.#stopped || this.#pumping.has(row.name)) continue;
      if ((this.#states.get(row.name)?.retryAt ?? 0) > Date.now()) continue;
      const pump = this.#pump(row)
        .catch((error: unknown) => this.#o.logger.warn({ sink: row.name, err: (error as Error).message }, 'trail streaming failed; retrying'))
        .finally(() => this.#pumping.delete(row.name));
      this.#pumping.set(row.name, pump);
    }
  }

  /** Resolves once every pump started so far ended (tests and benches wait on it). */
  async settle(): Promise<void> {
    await Promise.all(this.#pumping.values());
  }

  async #pump(row: TrailSinkRow): Promise<void> {
    const { now, batchSize } = this.#o;
    if (!(await this.#repo.claimLease(row.name, this.#owner, now(), this.#o.leaseSeconds))) {
      await this.#drop(row.name, false);
      return;
    }
    const state = this.#stateOf(row);
    const filter = filterOf(row);
    let renewed = Date.now();
    // The next batch is read while this one is sent (a store in another process works meanwhile).
    const read = async (after: number) => {
      const size = await this.#repo.trailSize();
      return { after, size, rows: await this.#repo.trailAfter(after, size, filter, batchSize) };
    };
    let ahead: ReturnType<typeof read> | undefined;
    while (!this.#stopped) {
      if (Date.now() - renewed > (this.#o.leaseSeconds * 1000) / 3) {
        if (!(await this.#repo.claimLease(row.name, this.#owner, now(), this.#o.leaseSeconds))) return this.#drop(row.name, false);
        renewed = Date.now();
      }
      if (!(await this.#confirm(state))) return;
      // A read ahead from another position (a lost connection rewound it) is dropped.
      const batch = ahead ? await ahead : undefined;
      ahead = undefined;
      const { size, rows } = batch && batch.after === state.position ? batch : await read(state.position);
      if (rows.length > 0) {
        if (rows.length === batchSize) {
          ahead = read(rows.at(-1)!.position);
          // Awaited next time round, or dropped: never an unhandled rejection.
          ahead.catch(() => undefined);
        }
        if (!(await this.#send(state, rows))) return;
        if (ahead) continue;
      }
      // Caught up with the committed end: pass over what the sink does not take.
      await this.#passOver(state, size - 1);
      return;
    }
  }

  async #send(state: SinkState, rows: Awaited<ReturnType<ReturnType<typeof trailSinksRepository>['trailAfter']>>): Promise<boolean> {
    const { row } = state;
    const through = rows.at(-1)!.position;
    try {
      state.transport ??= await openTransport({
        kind: row.kind as TrailSinkKind,
        format: row.format,
        settings: settingsOf(row),
        secret: trailSinkSecret(this.#o.master, row),
        timeoutMs: this.#o.timeoutMs,
        now: this.#o.now,
      });
      await state.transport.send(renderEvents(rows, row.format as TrailFormat, this.#o.productVersion));
    } catch (error) {
      await this.#failed(state, (error as Error).message);
      return false;
    }
    this.#o.onDelivered(row.name, rows.length);
    state.position = through;
    if (state.transport.acknowledges) return this.#store(state, through, rows.length);
    state.unconfirmed.push({ through, count: rows.length, at: Date.now(), epoch: state.transport.connection().epoch });
    return true;
  }

  async #passOver(state: SinkState, through: number): Promise<void> {
    if (through <= state.position) return;
    state.position = through;
    if (state.unconfirmed.length === 0) await this.#store(state, through, 0);
    else state.unconfirmed.push({ through, count: 0, at: Date.now(), epoch: state.unconfirmed.at(-1)!.epoch });
  }

  /** Stream transports: store what stayed sent long enough, or send again what a lost connection may have dropped. */
  async #confirm(state: SinkState): Promise<boolean> {
    if (state.unconfirmed.length === 0 || !state.transport) return true;
    const { epoch, up } = state.transport.connection();
    if (!up || state.unconfirmed[0]!.epoch !== epoch) {
      this.#o.logger.info({ sink: state.row.name, resend_after: state.confirmed }, 'trail sink connection lost; sending again what it may not have taken');
      state.position = state.confirmed;
      state.unconfirmed = [];
      return true;
    }
    const cutoff = Date.now() - this.#o.confirmMs;
    let count = 0;
    let through = -2;
    while (state.unconfirmed.length > 0 && state.unconfirmed[0]!.at <= cutoff) {
      const sent = state.unconfirmed.shift()!;
      count += sent.count;
      through = sent.through;
    }
    return through === -2 ? true : this.#store(state, through, count);
  }

  /** Move the stored cursor; false (and the state dropped) when this replica lost the lease. */
  async #store(state: SinkState, through: number, delivered: number): Promise<boolean> {
    if (through <= state.confirmed) return true;
    if (!(await this.#repo.advance(state.row.name, this.#owner, through, delivered, this.#o.now()))) {
      await this.#drop(state.row.name, false);
      return false;
    }
    state.confirmed = through;
    return true;
  }

  async #failed(state: SinkState, message: string): Promise<void> {
    const name = state.row.name;
    const failures = await this.#repo.recordFailure(name, this.#owner, message, this.#o.now());
    this.#o.onError(name);
    const wait = backoffMs(failures);
    state.retryAt = Date.now() + wait;
    state.position = state.confirmed;
    state.unconfirmed = [];
    const transport = state.transport;
    state.transport = undefined;
    await transport?.close().catch(() => {});
    this.#o.logger.warn({ sink: name, failures, retry_in_ms: wait, err: message }, 'trail events not delivered; the cursor stays');
  }

  #stateOf(row: TrailSinkRow): SinkState {
    const known = this.#states.get(row.name);
    if (known && known.identity === identityOf(row)) return known;
    const state: SinkState = { identity: identityOf(row), row, transport: undefined, position: row.delivered_through, confirmed: row.delivered_through, unconfirmed: [], retryAt: 0 };
    this.#states.set(row.name, state);
    return state;
  }

  async #drop(name: string, release = true): Promise<void> {
    const state = this.#states.get(name);
    this.#states.delete(name);
    await state?.transport?.close().catch(() => {});
    if (release) await this.#repo.releaseLease(name, this.#owner).catch(() => {});
  }
}
