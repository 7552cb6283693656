// RFC 9449 §4.2 / §4.3 steps 5–7 — the public key a DPoP proof carries in its `jwk` header
import crypto, { type KeyObject } from 'node:crypto';
import { decodeBase64url } from './base64url.ts';
import { jwkThumbprint } from './jwk-thumbprint.ts';

/**
 * Asymmetric algorithms accepted for proofs (RFC 9449 §4.3 step 5) and the key each needs.
 * `Ed25519` is the fully-specified name of EdDSA over Ed25519 (RFC 9864 §2.2) that WebCrypto
 * clients such as oauth4webapi and panva/dpop put in their proofs.
 */
export const DPOP_ALGS = ['EdDSA', 'Ed25519', 'ES256'] as const;
export type DpopAlg = (typeof DPOP_ALGS)[number];

const isEd25519 = (alg: DpopAlg) => alg !== 'ES256';

export interface ProofKey {
  key: KeyObject;
  /** RFC 7638 SHA-256 thumbprint, the value a bound token carries as `cnf.jkt` (RFC 9449 §6.1). */
  jkt: string;
}

/** Members that only a private or symmetric key has (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

const isCoordinate = (value: unknown): value is string =>
  typeof value === 'string' && decodeBase64url(value)?.length === 32;

/** Keys seen recently: an instance signs every proof with the same key, so import it once. */
const cache = new Map<string, ProofKey>();
const CACHE_LIMIT = 1024;

/**
 * Imports the proof's public JWK for `alg`, or explains why not. The JWK must be public only
 * (§4.3 step 7), of the type and curve the algorithm requires, and well formed.
 */
export function importProofKey(alg: DpopAlg, jwk: unknown): ProofKey | string {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) return 'jwk header is missing or not an object';
  const fields = jwk as Record<string, unknown>;
  if (PRIVATE_MEMBERS.some((name) => fields[name] !== undefined)) return 'jwk header contains private key material';
  const { kty, crv, x, y } = fields;
  let cacheKey: string;
  if (isEd25519(alg)) {
    if (kty !== 'OKP' || crv !== 'Ed25519' || !isCoordinate(x)) return `${alg} proofs need an Ed25519 OKP jwk`;
    cacheKey = `Ed25519.${x}`;
  } else {
    if (kty !== 'EC' || crv !== 'P-256' || !isCoordinate(x) || !isCoordinate(y)) return 'ES256 proofs need a P-256 EC jwk';
    cacheKey = `P-256.${x}.${y}`;
  }
  const cached = cache.get(cacheKey);
  if (cached) return cached;
  const publicJwk = isEd25519(alg) ? { kty, crv, x } : { kty, crv, x, y };
  let key: KeyObject;
  try {
    key = crypto.createPublicKey({ key: publicJwk as crypto.JsonWebKey, format: 'jwk' });
  } catch {
    return 'jwk header is not a valid public key';
  }
  const imported = { key, jkt: jwkThumbprint(publicJwk) };
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(cacheKey, imported);
  return imported;
}

/** Verifies a proof's signature; ES256 signatures are the raw 64-byte r||s of RFC 7518 §3.4. */
export function verifyProofSignature(alg: DpopAlg, key: KeyObject, data: Buffer, signature: Buffer): boolean {
  try {
    return isEd25519(alg)
      ? crypto.verify(null, data, key, signature)
      : signature.length === 64 && crypto.verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false;
  }
}
