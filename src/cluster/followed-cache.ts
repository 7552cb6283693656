/** What a cache needs to know of the change feed. */
export interface FeedState {
  readonly synchronized: boolean;
  /** Moves with every change applied and every loss of synchronization. */
  readonly epoch: number;
}

export interface FollowedCacheOptions {
  /** The longest an entry is used without reading it again (a backstop to the feed). */
  ttlMs?: number;
  maxEntries?: number;
}

/**
 * Rows a replica reads on every call (agent cards, server specs, mandate standing) kept in memory
 * while the change feed keeps them current: entries are used only while the replica is
 * synchronized, a fill that overlapped any change is not kept, and the handler of the change that
 * concerns an entry drops it. Entries also expire after `ttlMs`, a backstop for a change announced
 * by a replica that died between its commit and its notification.
 */
export class FollowedCache<V> {
  readonly #feed: FeedState;
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #entries = new Map<string, { value: V; until: number }>();

  constructor(feed: FeedState, options: FollowedCacheOptions = {}) {
    this.#feed = feed;
    this.#ttlMs = options.ttlMs ?? 10_000;
    this.#max = options.maxEntries ?? 10_000;
  }

  /**
   * @param keep how long a freshly read value may be used (at most `ttlMs`), or null not to keep it.
   * @param now the caller's clock, in ms.
   */
  async get(key: string, load: () => Promise<V>, keep: (value: V, now: number) => number | null = () => Infinity, now = Date.now()): Promise<V> {
    const hit = this.#entries.get(key);
    if (hit && this.#feed.synchronized && hit.until > now) return hit.value;
    const epoch = this.#feed.epoch;
    const value = await load();
    const until = keep(value, now);
    if (until === null) this.#entries.delete(key);
    else if (this.#feed.synchronized && this.#feed.epoch === epoch) {
      if (this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value!);
      this.#entries.set(key, { value, until: Math.min(until, now + this.#ttlMs) });
    }
    return value;
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}
