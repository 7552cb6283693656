// OpenID Connect Discovery 1.0 §4 — an issuer's configuration, and its JWKS (RFC 7517 §5)
import type { JSONWebKeySet } from 'jose';
import { MandateError } from '../errors.ts';
import type { FetchJson } from '../net/fetch-json.ts';

const invalid = (message: string) => new MandateError('ERR_ISSUER_INVALID', message);

/** §4: the configuration lives at the issuer's path + `/.well-known/openid-configuration`. */
export const discoveryUrlOf = (issuer: string) => `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;

/** The issuer's `jwks_uri`, from a discovery document whose `issuer` is exactly the one trusted (§4.3). */
export async function discoverJwksUri(issuer: string, fetch: FetchJson, allowLoopback: boolean): Promise<string> {
  const document = (await fetch(discoveryUrlOf(issuer), { allowLoopback })) as { issuer?: unknown; jwks_uri?: unknown } | null;
  if (typeof document !== 'object' || document === null) throw invalid('the discovery document is not a JSON object');
  if (document.issuer !== issuer) throw invalid(`the discovery document names another issuer than ${issuer}`);
  if (typeof document.jwks_uri !== 'string' || document.jwks_uri.length > 2000) throw invalid('the discovery document has no jwks_uri');
  return document.jwks_uri;
}

/** A JWKS as published: public keys only, a bounded number of them. */
export function checkJwks(value: unknown): JSONWebKeySet {
  const keys = (value as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length > 100) throw invalid('the JWKS is not an object with a keys array (at most 100 keys)');
  for (const key of keys) {
    if (typeof key !== 'object' || key === null || typeof (key as { kty?: unknown }).kty !== 'string') throw invalid('a JWKS key has no kty');
    if ('d' in key || 'k' in key) throw invalid('a JWKS may hold public keys only');
  }
  return { keys } as JSONWebKeySet;
}
