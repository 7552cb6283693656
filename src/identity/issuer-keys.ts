// RFC 7517 §5 JWK sets of trusted issuers, fetched, cached and refreshed
import type { JSONWebKeySet } from 'jose';
import { MandateError } from '../errors.ts';
import type { FetchJson } from '../net/fetch-json.ts';
import type { TrustedIssuer } from '../store/repositories/trusted-issuers.ts';
import { checkJwks, discoverJwksUri } from './oidc-discovery.ts';

export interface IssuerKeysOptions {
  fetch: FetchJson;
  now: () => Date;
  /** Fetched keys are used this long before they are fetched again. */
  maxAgeSeconds: number;
  /** At most one fetch per issuer in this many seconds, whatever asks for it (unknown `kid`, age, a down IdP). */
  refreshSeconds: number;
  /** How long past their age keys are still used while the IdP cannot be reached. */
  staleSeconds: number;
}

interface Entry {
  keys?: JSONWebKeySet;
  fetchedAt: number;
  attemptedAt: number;
  fetching?: Promise<void>;
}

const unavailable = (issuer: string) =>
  new MandateError('ERR_ISSUER_UNAVAILABLE', `the keys of ${issuer} cannot be fetched and none recent enough are cached; retry later`);

/**
 * Keys of trusted issuers, per replica. An issuer's JWKS is fetched (after discovery, when it is
 * configured by discovery) through the address guard, kept for `maxAgeSeconds`, and fetched again
 * when a token names a `kid` it does not hold (a rotated IdP key), never more than once per
 * `refreshSeconds`, so tokens with made-up `kid`s cannot turn Mandate against the IdP. When the IdP
 * is down, the keys last fetched are used until `staleSeconds` past their age, then the answer is
 * 503: a person token is never accepted without verifying its signature.
 */
export class IssuerKeys {
  readonly #entries = new Map<string, Entry>();
  readonly options: IssuerKeysOptions;

  constructor(options: IssuerKeysOptions) {
    this.options = options;
  }

  async keysFor(issuer: TrustedIssuer, kid: string | undefined): Promise<JSONWebKeySet> {
    if (issuer.source === 'inline') return checkJwks(JSON.parse(issuer.jwks ?? '{}'));
    const name = `${issuer.issuer} ${issuer.source} ${issuer.jwks_uri ?? ''}`;
    const entry = this.#entries.get(name) ?? { fetchedAt: 0, attemptedAt: -Infinity };
    this.#entries.set(name, entry);
    const now = this.options.now().getTime();
    const age = (now - entry.fetchedAt) / 1000;
    const unknownKid = kid !== undefined && entry.keys !== undefined && !entry.keys.keys.some((k) => k.kid === kid);
    const wanted = !entry.keys || age > this.options.maxAgeSeconds || unknownKid;
    if (wanted && now - entry.attemptedAt >= this.options.refreshSeconds * 1000) {
      entry.fetching ??= this.#fetch(issuer, entry).finally(() => (entry.fetching = undefined));
      await entry.fetching;
    } else if (entry.fetching) await entry.fetching;
    const fresh = (this.options.now().getTime() - entry.fetchedAt) / 1000;
    if (!entry.keys || fresh > this.options.maxAgeSeconds + this.options.staleSeconds) throw unavailable(issuer.issuer);
    return entry.keys;
  }

  async #fetch(issuer: TrustedIssuer, entry: Entry): Promise<void> {
    entry.attemptedAt = this.options.now().getTime();
    try {
      const uri = issuer.source === 'discovery' ? await discoverJwksUri(issuer.issuer, this.options.fetch, issuer.allow_loopback) : issuer.jwks_uri!;
      entry.keys = checkJwks(await this.options.fetch(uri, { allowLoopback: issuer.allow_loopback }));
      entry.fetchedAt = this.options.now().getTime();
    } catch {
      // The IdP is down or answers badly: the keys held so far serve within their bound.
    }
  }
}
