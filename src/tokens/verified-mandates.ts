import type { MandateClaims } from './mandate.ts';

/**
 * Mandates whose signature, type, issuer and audience this replica has already checked, by the
 * exact token text and the resource it was presented to, so the same mandate on its next call costs
 * a map lookup instead of an Ed25519 verification. Lifetime is checked on every use (an entry never
 * outlives its `exp`); standing (revocation) is not cached here; the DPoP proof is always verified.
 */
export class VerifiedMandates {
  readonly #max: number;
  readonly #entries = new Map<string, MandateClaims>();

  constructor(maxEntries = 10_000) {
    this.#max = maxEntries;
  }

  get(resource: string, token: string, now: Date): MandateClaims | undefined {
    const key = `${resource} ${token}`;
    const claims = this.#entries.get(key);
    if (!claims) return undefined;
    const at = now.getTime() / 1000;
    const nbf = (claims as { nbf?: unknown }).nbf;
    if (claims.exp <= at || (typeof nbf === 'number' && nbf > at)) {
      this.#entries.delete(key);
      return undefined;
    }
    return claims;
  }

  set(resource: string, token: string, claims: MandateClaims): void {
    if (this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(`${resource} ${token}`, claims);
  }

  clear(): void {
    this.#entries.clear();
  }
}
