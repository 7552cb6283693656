// RFC 9449 §8 and §9 — server-provided DPoP nonces
import crypto from 'node:crypto';

/** A nonce stays acceptable for the window it was issued in and the next one: 1 to 2 minutes. */
const WINDOW_SECONDS = 60;

/**
 * Stateless nonces every replica issues and accepts alike: the nonce of a time window is the
 * window's number and an HMAC of it under a key derived from the master key (which every replica
 * holds). Nothing is stored; a nonce stops being accepted once its window and the next have passed.
 * Nonces limit how long a proof made ahead of time stays usable (RFC 9449 §11.2); replay within
 * that time is still caught by the `jti` cache.
 */
export class DpopNonces {
  readonly #key: Buffer;

  constructor(masterKey: Uint8Array) {
    this.#key = Buffer.from(crypto.hkdfSync('sha256', masterKey, Buffer.alloc(0), 'mandate dpop nonce', 32));
  }

  /** The nonce to send now in a `DPoP-Nonce` header. */
  current(now: Date): string {
    return this.#nonceOf(this.#window(now));
  }

  /** The nonces a proof may carry now: this window's and the previous one's. */
  accepted(now: Date): string[] {
    const window = this.#window(now);
    return [this.#nonceOf(window), this.#nonceOf(window - 1)];
  }

  #window(now: Date): number {
    return Math.floor(now.getTime() / 1000 / WINDOW_SECONDS);
  }

  #nonceOf(window: number): string {
    const mac = crypto.createHmac('sha256', this.#key).update(`dpop-nonce:${window}`).digest('base64url').slice(0, 32);
    return `${window.toString(36)}.${mac}`;
  }
}
