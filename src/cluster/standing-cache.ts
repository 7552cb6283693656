import type { Change } from './changes.ts';
import { type FeedState, FollowedCache, type FollowedCacheOptions } from './followed-cache.ts';

/**
 * Which mandates were live when last read, so the enforcement path does not ask the database on
 * every call. Only "live" is kept, never past the mandate's `exp`, with the rules of a
 * `FollowedCache`: a revocation can never be overwritten by a read that started before it.
 */
export class StandingCache {
  readonly #live: FollowedCache<boolean>;

  constructor(feed: FeedState, options: FollowedCacheOptions = {}) {
    this.#live = new FollowedCache(feed, { maxEntries: 100_000, ...options });
  }

  get size(): number {
    return this.#live.size;
  }

  /**
   * @param expiresAt the mandate's `exp` in seconds.
   * @param read the authoritative standing, from the database.
   */
  isLive(jti: string, expiresAt: number, now: Date, read: () => Promise<'live' | 'revoked' | 'unknown'>): Promise<boolean> {
    return this.#live.get(jti, async () => (await read()) === 'live', (live) => (live ? expiresAt * 1000 : null), now.getTime());
  }

  /** Drop what a change may have made stale: named mandates, or everything. */
  apply(change: Change): void {
    if (change.kind === 'mandates.revoked' && change.jtis) {
      for (const jti of change.jtis) this.#live.delete(jti);
    } else if (change.kind === 'mandates.revoked' || change.kind === 'instance.revoked' || change.kind === 'agent.changed' || change.kind === 'resync') {
      this.#live.clear();
    }
  }
}
