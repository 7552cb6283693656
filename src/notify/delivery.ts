import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AuditEvent } from '../audit/event.ts';
import type { MasterKey } from '../identity/master-key.ts';
import { advanceCursor, claimLease, listSinks, recordFailure, releaseLease, type SinkRow, trailAfter, trailSize } from '../store/notify-sinks.ts';
import type { Queryable } from '../store/store.ts';
import { renderPayload } from './payload.ts';
import { SIGNATURE_HEADER, signatureHeader } from './signature.ts';
import type { SinkFormat } from './sink-spec.ts';
import { eventsOf, signingKeyOf } from './sinks.ts';

/**
 * Durable delivery: the trail is the buffer. Each sink keeps a cursor (the global log position
 * of the last event it got); the loop reads events of the sink's types after it, POSTs them one
 * by one in log order, and moves the cursor only on a 2xx. A failure leaves the cursor where it
 * is and waits (0.5 s doubling to 30 s) before trying the same event again, so a restart or a
 * receiver that is down loses nothing: delivery is at least once, and every body carries the
 * event id for receivers to drop a duplicate. One replica at a time holds a sink's lease.
 */
export interface DeliveryOptions {
  db: Queryable;
  master: MasterKey;
  logger: Logger;
  now: () => Date;
  /** The public address decide links point at (known once the server listens). */
  baseUrl: () => string;
  intervalMs?: number;
  leaseSeconds?: number;
  timeoutMs?: number;
}

export const BACKOFF_FIRST_MS = 500;
export const BACKOFF_MAX_MS = 30_000;
const BATCH = 50;

export const backoffMs = (failures: number) => Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.max(0, failures - 1));

export class SinkDelivery {
  readonly #o: Required<DeliveryOptions>;
  readonly #owner = `d_${randomUUID()}`;
  readonly #retryAt = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  /** Aborts posts in flight at shutdown: the cursor stays, the next start posts them again. */
  readonly #abort = new AbortController();

  constructor(options: DeliveryOptions) {
    this.#o = { intervalMs: 250, leaseSeconds: 30, timeoutMs: 10_000, ...options };
  }

  start(): void {
    this.#schedule();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#abort.abort();
    await this.#running;
    for (const row of await listSinks(this.#o.db).catch(() => [])) await releaseLease(this.#o.db, row.name, this.#owner).catch(() => {});
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.tick()
        .catch((error: unknown) => this.#o.logger.warn({ err: (error as Error).message }, 'notification delivery pass failed; retrying'))
        .finally(() => this.#schedule());
    }, this.#o.intervalMs);
    this.#timer.unref();
  }

  /** One pass over every active sink whose lease this replica holds or can take. */
  async tick(): Promise<void> {
    // Sinks side by side: one slow or unreachable receiver does not hold back the others.
    await Promise.all(
      (await listSinks(this.#o.db)).map(async (row) => {
        if (this.#stopped || row.paused_at || (this.#retryAt.get(row.name) ?? 0) > Date.now()) return;
        if (!(await this.#lease(row))) return;
        await this.#deliver(row).catch((error: unknown) => this.#o.logger.warn({ sink: row.name, err: (error as Error).message }, 'notification delivery failed; retrying'));
      }),
    );
  }

  /** Take or renew the sink's lease; renewed before every post, so a replica that lost it stops. */
  #lease(row: SinkRow): Promise<boolean> {
    return claimLease(this.#o.db, row.name, this.#owner, this.#o.now(), this.#o.leaseSeconds);
  }

  async #deliver(row: SinkRow): Promise<void> {
    const { db, now } = this.#o;
    const size = await trailSize(db);
    const entries = await trailAfter(db, row.delivered_through, size, eventsOf(row), BATCH);
    if (entries.length > 0) {
      const key = await signingKeyOf(db, this.#o.master, row).catch((error: unknown) => this.#failed(row, (error as Error).message));
      if (key === undefined) return;
      for (const entry of entries) {
        if (this.#stopped || !(await this.#lease(row))) return;
        const event = { ...(JSON.parse(entry.body) as Omit<AuditEvent, 'hash'>), hash: entry.hash } as AuditEvent;
        const failure = await this.#post(row, key, event);
        if (failure !== null) return this.#stopped ? undefined : this.#failed(row, failure);
        this.#retryAt.delete(row.name);
        if (!(await advanceCursor(db, row.name, this.#owner, entry.position, 1, now()))) return;
      }
      if (entries.length === BATCH) return;
    }
    // Nothing of its types up to the committed end: pass over the rest, so the next read starts there.
    if (size - 1 > row.delivered_through) await advanceCursor(db, row.name, this.#owner, size - 1, 0, now());
  }

  /** Null on a 2xx; otherwise what went wrong, without the URL (it may hold a token) or the key. */
  async #post(row: SinkRow, key: string, event: AuditEvent): Promise<string | null> {
    const body = renderPayload(row.format as SinkFormat, event, this.#o.baseUrl());
    try {
      const response = await fetch(row.url, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(this.#o.timeoutMs), this.#abort.signal]),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Mandate-Notify/1',
          [SIGNATURE_HEADER]: signatureHeader(key, body, this.#o.now()),
          'mandate-event-id': event.id,
          'mandate-event-type': event.type,
        },
        body,
      });
      await response.body?.cancel().catch(() => {});
      return response.status >= 200 && response.status < 300 ? null : `the receiver answered HTTP ${response.status}`;
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      return `the receiver could not be reached (${cause ?? (error as Error).name})`;
    }
  }

  async #failed(row: SinkRow, message: string): Promise<undefined> {
    const failures = await recordFailure(this.#o.db, row.name, this.#owner, message, this.#o.now());
    const wait = backoffMs(failures);
    this.#retryAt.set(row.name, Date.now() + wait);
    this.#o.logger.warn({ sink: row.name, failures, retry_in_ms: wait, err: message }, 'notification not delivered; the cursor stays');
    return undefined;
  }
}
