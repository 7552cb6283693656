import type { Change } from './changes.ts';

export interface FeedState {
  readonly synchronized: boolean;
  readonly epoch: number;
}

export interface StandingCacheOptions {
  /** The longest a "live" answer is reused without asking the database (a backstop to the feed). */
  ttlMs?: number;
  maxEntries?: number;
}

/**
 * Which mandates were live when last read, so the enforcement path does not ask the database on
 * every call. Only "live" is cached, only while the replica is synchronized, and a fill that
 * overlapped any change (the feed's epoch moved) is discarded: a revocation can never be
 * overwritten by a read that started before it.
 */
export class StandingCache {
  readonly #feed: FeedState;
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #liveUntil = new Map<string, number>();

  constructor(feed: FeedState, options: StandingCacheOptions = {}) {
    this.#feed = feed;
    this.#ttlMs = options.ttlMs ?? 10_000;
    this.#max = options.maxEntries ?? 100_000;
  }

  get size(): number {
    return this.#liveUntil.size;
  }

  /**
   * @param expiresAt the mandate's `exp` in seconds: an entry never outlives its mandate.
   * @param read the authoritative standing, from the database.
   */
  async isLive(jti: string, expiresAt: number, now: Date, read: () => Promise<'live' | 'revoked' | 'unknown'>): Promise<boolean> {
    const at = now.getTime();
    if (this.#feed.synchronized && (this.#liveUntil.get(jti) ?? 0) > at) return true;
    const epoch = this.#feed.epoch;
    const standing = await read();
    if (standing !== 'live') {
      this.#liveUntil.delete(jti);
      return false;
    }
    if (this.#feed.synchronized && this.#feed.epoch === epoch) {
      if (this.#liveUntil.size >= this.#max) this.#liveUntil.delete(this.#liveUntil.keys().next().value!);
      this.#liveUntil.set(jti, Math.min(expiresAt * 1000, at + this.#ttlMs));
    }
    return true;
  }

  /** Drop what a change may have made stale: named mandates, or everything. */
  apply(change: Change): void {
    if (change.kind === 'mandates.revoked' && change.jtis) {
      for (const jti of change.jtis) this.#liveUntil.delete(jti);
    } else if (change.kind === 'mandates.revoked' || change.kind === 'instance.revoked' || change.kind === 'agent.changed' || change.kind === 'resync') {
      this.#liveUntil.clear();
    }
  }
}
