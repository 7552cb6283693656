import type { FeedState } from './standing-cache.ts';

/**
 * Rows a replica reads on every call (agent cards, server specs) kept in memory while the change
 * feed keeps them current: entries are used only while the replica is synchronized, a fill that
 * overlapped any change is not kept, and the handler of the change that concerns an entry drops it.
 * Entries also expire after `ttlMs`, a backstop for a change announced by a replica that died
 * between its commit and its notification.
 */
export class FollowedCache<V> {
  readonly #feed: FeedState;
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #entries = new Map<string, { value: V; until: number }>();

  constructor(feed: FeedState, options: { ttlMs?: number; maxEntries?: number } = {}) {
    this.#feed = feed;
    this.#ttlMs = options.ttlMs ?? 10_000;
    this.#max = options.maxEntries ?? 10_000;
  }

  async get(key: string, load: () => Promise<V>): Promise<V> {
    const hit = this.#entries.get(key);
    if (hit && this.#feed.synchronized && hit.until > Date.now()) return hit.value;
    const epoch = this.#feed.epoch;
    const value = await load();
    if (this.#feed.synchronized && this.#feed.epoch === epoch) {
      if (this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value!);
      this.#entries.set(key, { value, until: Date.now() + this.#ttlMs });
    }
    return value;
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }
}
