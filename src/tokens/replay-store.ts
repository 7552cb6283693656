// RFC 9449 §11.1 — DPoP replay cache shared through the store
import { replayRepository } from '../store/repositories/replay.ts';
import type { Store } from '../store/store.ts';
import type { ReplayCache } from './replay-cache.ts';

/**
 * The replay cache every replica shares: one row per seen proof key, inserted atomically, so
 * the same proof presented to two replicas is accepted once. Expired rows are reused in place
 * and swept now and then.
 */
export class StoreReplayCache implements ReplayCache {
  readonly #store: Store;
  readonly #now: () => Date;
  #writes = 0;

  constructor(store: Store, now: () => Date) {
    this.#store = store;
    this.#now = now;
  }

  async checkAndStore(key: string, expiresAtSeconds: number): Promise<boolean> {
    const nowSeconds = Math.floor(this.#now().getTime() / 1000);
    const replay = replayRepository(this.#store.db);
    const fresh = await replay.remember(key, expiresAtSeconds, nowSeconds);
    if (++this.#writes % 1000 === 0) await replay.sweep(nowSeconds);
    return fresh;
  }
}
