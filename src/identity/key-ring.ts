import crypto, { type KeyObject } from 'node:crypto';
import { MandateError } from '../errors.ts';
import type { Store } from '../store/store.ts';
import type { MasterKey } from './master-key.ts';
import { activeSigningKey, createSigningKey, type SigningKey } from './signing-keys.ts';

/**
 * The signing keys in memory: the one key that signs now, and every published key that may
 * still verify a token (retired keys stay until the longest token they signed has expired).
 */
export class KeyRing {
  readonly #store: Store;
  readonly #master: MasterKey;
  #signer: SigningKey | undefined;
  #verifiers = new Map<string, KeyObject>();

  constructor(store: Store, master: MasterKey) {
    this.#store = store;
    this.#master = master;
  }

  async load(now: Date): Promise<this> {
    const signer = await activeSigningKey(this.#store.db, this.#master);
    const rows = await this.#store.db.selectFrom('signing_keys').select(['kid', 'public_jwk', 'expires_at']).execute();
    const verifiers = new Map<string, KeyObject>();
    for (const row of rows) {
      if (row.expires_at !== null && Date.parse(row.expires_at) <= now.getTime()) continue;
      verifiers.set(row.kid, crypto.createPublicKey({ key: JSON.parse(row.public_jwk), format: 'jwk' }));
    }
    this.#signer = signer;
    this.#verifiers = verifiers;
    return this;
  }

  signer(): SigningKey {
    if (!this.#signer) throw new MandateError('ERR_NO_SIGNING_KEY', 'no active signing key', { status: 503 });
    return this.#signer;
  }

  verificationKeys(): ReadonlyMap<string, KeyObject> {
    return this.#verifiers;
  }

  /**
   * A new key signs from now on; the old one stays published for `retainSeconds` (the longest
   * lifetime of any token it may have signed, plus clock skew).
   */
  async rotate(now: Date, retainSeconds: number): Promise<{ kid: string; retired: string | undefined }> {
    const retired = this.#signer?.kid;
    const created = await this.#store.transaction(async (trx) => {
      const expires = new Date(now.getTime() + retainSeconds * 1000).toISOString();
      await trx
        .updateTable('signing_keys')
        .set({ retired_at: now.toISOString(), expires_at: expires })
        .where('retired_at', 'is', null)
        .execute();
      return createSigningKey(trx, this.#master, now);
    });
    await this.load(now);
    return { kid: created.kid, retired };
  }
}
