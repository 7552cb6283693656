// RFC 9449 §11.1 — DPoP proof replay detection
import { MandateError } from '../errors.ts';

/**
 * Storage port for proofs already seen. `checkAndStore` must be atomic: it records the key and
 * returns true the first time, and returns false for a key already stored and not yet expired.
 * The key is opaque (a fixed-length hash of the proof's key thumbprint and `jti`); entries may be
 * dropped after `expiresAtSeconds`, when the proof's `iat` is too old to be accepted anyway.
 */
export interface ReplayCache {
  checkAndStore(jti: string, expiresAtSeconds: number): Promise<boolean>;
}

/** One-process replay cache for tests and single-node development; bounded, never evicts live entries. */
export class InMemoryReplayCache implements ReplayCache {
  readonly #seen = new Map<string, number>();
  readonly #now: () => Date;
  readonly #maxEntries: number;

  constructor(options: { now: () => Date; maxEntries?: number }) {
    this.#now = options.now;
    this.#maxEntries = options.maxEntries ?? 100_000;
  }

  get size(): number {
    return this.#seen.size;
  }

  async checkAndStore(jti: string, expiresAtSeconds: number): Promise<boolean> {
    const now = this.#now().getTime() / 1000;
    const expiresAt = this.#seen.get(jti);
    if (expiresAt !== undefined && expiresAt > now) return false;
    if (this.#seen.size >= this.#maxEntries) this.#prune(now);
    // Fail closed: forgetting a live entry would let its proof be replayed.
    if (this.#seen.size >= this.#maxEntries) {
      throw new MandateError('ERR_DPOP_REPLAY_CACHE_FULL', 'DPoP replay cache is full');
    }
    this.#seen.set(jti, expiresAtSeconds);
    return true;
  }

  #prune(now: number): void {
    for (const [jti, expiresAt] of this.#seen) if (expiresAt <= now) this.#seen.delete(jti);
  }
}
