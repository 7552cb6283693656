// RFC 9449 §11.1 — a DPoP proof whose `jti` is recorded with the call it authorizes
import { replayRepository } from '../store/repositories/replay.ts';
import type { Queryable } from '../store/store.ts';
import type { ReplayCache } from './replay-cache.ts';

/**
 * A verified proof presented for a governed call, not yet recorded as seen. The decision path
 * records it in the transaction that makes the call's decision durable (one commit for both,
 * group-committed with other calls); a call refused before that records it on its own, and the
 * enforcement point records it when the response ends should nothing else have. Nothing is
 * forwarded before it is recorded, and the record is atomic across replicas: of two calls with one
 * proof, one commits it and the other is refused with `ERR_DPOP_REPLAY`.
 */
export class PendingProof {
  #recorded = false;
  readonly key: string;
  readonly expiresAt: number;
  readonly #replay: ReplayCache;

  constructor(key: string, expiresAt: number, replay: ReplayCache) {
    this.key = key;
    this.expiresAt = expiresAt;
    this.#replay = replay;
  }

  get recorded(): boolean {
    return this.#recorded;
  }

  /** Records it inside `db` (the decision's transaction); false when the proof was seen before. */
  async recordWithin(db: Queryable, now: Date): Promise<boolean> {
    return replayRepository(db).remember(this.key, this.expiresAt, Math.floor(now.getTime() / 1000));
  }

  /** The transaction that recorded it committed. */
  committed(): void {
    this.#recorded = true;
  }

  /** Records it in a write of its own, unless already recorded; false when the proof was seen before. */
  async record(): Promise<boolean> {
    if (this.#recorded) return true;
    const fresh = await this.#replay.checkAndStore(this.key, this.expiresAt);
    this.#recorded = true;
    return fresh;
  }
}

/**
 * The replay cache an enforcement point verifies a governed call's proof with: this replica's
 * recent proofs refuse a replay at once (401, as any replay), and the durable record is left to
 * the call (`pending`). The recent set forgets its oldest keys first when full: it is a fast path
 * only; the durable record is what makes a proof single-use.
 */
export class DeferringReplay implements ReplayCache {
  pending: PendingProof | undefined;
  readonly #recent: RecentProofs;
  readonly #durable: ReplayCache;

  constructor(recent: RecentProofs, durable: ReplayCache) {
    this.#recent = recent;
    this.#durable = durable;
  }

  async checkAndStore(key: string, expiresAtSeconds: number): Promise<boolean> {
    if (!this.#recent.add(key, expiresAtSeconds)) return false;
    this.pending = new PendingProof(key, expiresAtSeconds, this.#durable);
    return true;
  }
}

/** Proof keys this replica saw recently, bounded (oldest forgotten first). */
export class RecentProofs {
  readonly #seen = new Map<string, number>();
  readonly #max: number;
  readonly #now: () => Date;

  constructor(now: () => Date, max = 100_000) {
    this.#now = now;
    this.#max = max;
  }

  /** True when the key was not seen (or its entry expired); remembers it either way. */
  add(key: string, expiresAt: number): boolean {
    const seen = this.#seen.get(key);
    if (seen !== undefined && seen > this.#now().getTime() / 1000) return false;
    this.#seen.delete(key);
    if (this.#seen.size >= this.#max) this.#seen.delete(this.#seen.keys().next().value!);
    this.#seen.set(key, expiresAt);
    return true;
  }
}
