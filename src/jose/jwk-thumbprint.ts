// RFC 7638 — JSON Web Key (JWK) thumbprint
import crypto from 'node:crypto';
import { MandateError } from '../errors.ts';

/** The members a thumbprint reads; any other member of the JWK is ignored (RFC 7638 §3.2). */
export interface ThumbprintJwk {
  kty?: unknown;
  crv?: unknown;
  x?: unknown;
  y?: unknown;
  n?: unknown;
  e?: unknown;
}

/** Required members per key type, already in lexicographic order (RFC 7638 §3.2, RFC 8037 §2). */
const REQUIRED: Record<string, readonly string[]> = {
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
  RSA: ['e', 'kty', 'n'],
};

/**
 * SHA-256 JWK thumbprint, base64url without padding: the `kid` of our signing keys and the
 * `cnf.jkt` / DPoP `jkt` that binds a token to a key (RFC 9449 §6.1).
 * @see https://www.rfc-editor.org/rfc/rfc7638#section-3
 */
export function jwkThumbprint(jwk: ThumbprintJwk): string {
  const kty = jwk.kty;
  const members = typeof kty === 'string' ? REQUIRED[kty] : undefined;
  if (!members) throw new MandateError('ERR_JWK_INVALID', 'JWK "kty" must be EC, OKP or RSA');
  const canonical: Record<string, string> = {};
  for (const name of members) {
    const value = (jwk as Record<string, unknown>)[name];
    // RFC 7638 §3.2: required members must be present; their values are strings for these types.
    if (typeof value !== 'string' || value === '') {
      throw new MandateError('ERR_JWK_INVALID', `JWK member "${name}" is missing or not a string`);
    }
    canonical[name] = value;
  }
  // RFC 7638 §3.3: no whitespace, members in lexicographic order; JSON.stringify keeps insertion order.
  return crypto.createHash('sha256').update(JSON.stringify(canonical)).digest('base64url');
}
