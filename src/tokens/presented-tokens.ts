import crypto from 'node:crypto';

/** What the cache needs to know of the replica's change feed (a `ChangeFeed` is one). */
export interface FeedState {
  readonly synchronized: boolean;
  /** Moves with every change applied and every loss of synchronization. */
  readonly epoch: number;
}

/** What a change made untrue: a withdrawn key, a revoked instance, a changed agent. */
export type Stale = { kid: string } | { instance: string } | { agent: string };

/** What one verification of a presented token established, and what can make it stale. */
export interface Remembered<T> {
  value: T;
  /** The token's `exp` in seconds: the entry is never used at or after it (no leeway). */
  exp: number;
  /** The key that signed the token: forgotten when that key is withdrawn. */
  kid: string;
  /** The instance and agent the verification read as active: forgotten when either changes. */
  instance?: string;
  agent?: string;
}

/** A verification that must not be remembered (e.g. a token from an issuer the feed does not follow). */
export interface Unremembered<T> {
  value: T;
  exp?: undefined;
}

/**
 * Identity tokens (`actor_token`) and person tokens (`subject_token`) presented at the token
 * endpoint, verified once per replica and remembered by SHA-256 digest (never by the token text)
 * until their `exp`, so an agent that exchanges the same identity token again costs a hash and a
 * map lookup instead of an Ed25519 verification and two reads.
 *
 * Staleness follows the change feed, as with a `FollowedCache`: entries are used only while the
 * replica is synchronized, a verification that overlapped any change is not kept, and a withdrawn
 * key, a revoked instance or a changed agent (suspended, retired) forgets what depended on it.
 * What belongs to one request — the DPoP proof and its key binding — is checked on every request.
 */
export class PresentedTokens {
  readonly #feed: FeedState;
  readonly #max: number;
  readonly #entries = new Map<string, Remembered<unknown>>();

  constructor(feed: FeedState, maxEntries = 10_000) {
    this.#feed = feed;
    this.#max = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * The remembered verification of `token` for `use` (what it was verified as), or `verify`'s,
   * remembered when the feed allows.
   */
  async verify<T>(use: string, token: string, now: Date, verify: () => Promise<Remembered<T> | Unremembered<T>>): Promise<T> {
    const key = `${use} ${crypto.createHash('sha256').update(token).digest('base64url')}`;
    const at = now.getTime();
    const hit = this.#entries.get(key);
    if (hit && hit.exp * 1000 <= at) this.#entries.delete(key);
    else if (hit && this.#feed.synchronized) return hit.value as T;
    const epoch = this.#feed.epoch;
    const fresh = await verify();
    if (fresh.exp !== undefined && fresh.exp * 1000 > at && this.#feed.synchronized && this.#feed.epoch === epoch) {
      if (this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value!);
      this.#entries.set(key, fresh);
    }
    return fresh.value;
  }

  /** Forgets every verification that depended on what a change made untrue. */
  forget(stale: Stale): void {
    for (const [key, entry] of this.#entries) {
      if (('kid' in stale && entry.kid === stale.kid) || ('instance' in stale && entry.instance === stale.instance) || ('agent' in stale && entry.agent === stale.agent)) {
        this.#entries.delete(key);
      }
    }
  }

  clear(): void {
    this.#entries.clear();
  }
}
