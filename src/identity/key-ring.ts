import crypto, { type KeyObject } from 'node:crypto';
import { isMandateError, MandateError } from '../errors.ts';
import { signingKeysRepository } from '../store/repositories/signing-keys.ts';
import type { Queryable, Store } from '../store/store.ts';
import type { VerificationKeys } from '../jose/jws.ts';
import type { MasterKey } from './master-key.ts';
import { activeSigningKey, createSigningKey, type SigningKey } from './signing-keys.ts';

/** Another replica may rotate: reload at least this often, and on an unknown kid at most this often. */
const RELOAD_AFTER_MS = 60_000;
const UNKNOWN_KID_RELOAD_MS = 1_000;

/**
 * The signing keys in memory: the one key that signs now, every published key that may still
 * verify a token (retired keys stay until the longest token they signed has expired), and the
 * kids of withdrawn keys, whose tokens are refused by name.
 */
export class KeyRing {
  readonly #store: Store;
  readonly #master: MasterKey;
  #signer: SigningKey | undefined;
  #verifiers: VerificationKeys = new Map<string, KeyObject>();
  #loadedAt = 0;
  #missReloadAt = Number.NEGATIVE_INFINITY;
  #reloading: Promise<this> | undefined;

  constructor(store: Store, master: MasterKey) {
    this.#store = store;
    this.#master = master;
  }

  async load(now: Date): Promise<this> {
    const signer = await activeSigningKey(this.#store.db, this.#master);
    const rows = await signingKeysRepository(this.#store.db).list();
    const verifiers = new Map<string, KeyObject>();
    const withdrawn = new Set<string>();
    for (const row of rows) {
      if (row.revoked_at !== null) withdrawn.add(row.kid);
      else if (row.expires_at === null || Date.parse(row.expires_at) > now.getTime()) {
        verifiers.set(row.kid, crypto.createPublicKey({ key: JSON.parse(row.public_jwk), format: 'jwk' }));
      }
    }
    this.#signer = signer;
    this.#verifiers = Object.assign(verifiers, { withdrawn });
    this.#loadedAt = now.getTime();
    return this;
  }

  /**
   * Verifies with the keys every replica publishes: another one may have rotated since this one
   * loaded. Reloads from the store when the ring is a minute old, or when a token names a kid it
   * does not hold (at most once a second, so made-up kids cannot hammer the store), then verifies
   * once more.
   */
  async verifyWith<T>(now: Date, verify: (keys: VerificationKeys) => T): Promise<T> {
    if (now.getTime() - this.#loadedAt >= RELOAD_AFTER_MS) await this.#reload(now);
    try {
      return verify(this.#verifiers);
    } catch (error) {
      const unknownKid = isMandateError(error) && error.code === 'ERR_TOKEN_KID';
      if (!unknownKid || now.getTime() - this.#missReloadAt < UNKNOWN_KID_RELOAD_MS) throw error;
      this.#missReloadAt = now.getTime();
      await this.#reload(now);
      return verify(this.#verifiers);
    }
  }

  #reload(now: Date): Promise<this> {
    this.#reloading ??= this.load(now).finally(() => {
      this.#reloading = undefined;
    });
    return this.#reloading;
  }

  signer(): SigningKey {
    if (!this.#signer) throw new MandateError('ERR_NO_SIGNING_KEY', 'no active signing key');
    return this.#signer;
  }

  verificationKeys(): VerificationKeys {
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
      await signingKeysRepository(trx).retireSigning(now.toISOString(), expires);
      return createSigningKey(trx, this.#master, now);
    });
    await this.load(now);
    return { kid: created.kid, retired };
  }

  /**
   * Withdraws a key inside the caller's transaction: it stops signing and verifying and leaves the
   * JWKS at once. When it was the key that signs now, a fresh key takes over in the same
   * transaction. The caller reloads the ring (every replica does, on the change it announces).
   */
  async withdraw(trx: Queryable, kid: string, now: Date): Promise<{ rotatedTo: string | undefined }> {
    const keys = signingKeysRepository(trx);
    const row = await keys.find(kid);
    if (!row) throw new MandateError('ERR_KEY_NOT_FOUND', `no signing key ${kid}`, { expose: true });
    if (row.revoked_at !== null) throw new MandateError('ERR_KEY_ALREADY_REVOKED', `signing key ${kid} was already withdrawn at ${row.revoked_at}`, { expose: true });
    const at = now.toISOString();
    // Guarded on revoked_at: of two replicas withdrawing the same key at once, one does (and rotates).
    if (!(await keys.withdraw(kid, at, row.retired_at ?? at))) throw new MandateError('ERR_KEY_ALREADY_REVOKED', `signing key ${kid} was already withdrawn`, { expose: true });
    if (row.retired_at !== null) return { rotatedTo: undefined };
    return { rotatedTo: (await createSigningKey(trx, this.#master, now)).kid };
  }
}
