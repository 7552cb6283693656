// RFC 7515 — JWS compact signing and verification of Mandate's own tokens (RFC 8725 profile: EdDSA only)
import crypto, { type KeyObject } from 'node:crypto';
import { type ErrorCode, MandateError } from '../errors.ts';
import { base64url } from './base64url.ts';
import { type CompactFailure, parseCompact, quote } from './jws-compact.ts';
import { checkClaims } from './jwt-claims.ts';
import { parseJsonObject } from './strict-json.ts';

/** The one algorithm our tokens use (RFC 8037 §3.1, Ed25519). */
export const TOKEN_ALG = 'EdDSA';
export const DEFAULT_MAX_TOKEN_LENGTH = 8 * 1024;
export const DEFAULT_CLOCK_SKEW_SECONDS = 30;

export interface JwsHeader {
  alg: typeof TOKEN_ALG;
  typ: string;
  kid: string;
  [parameter: string]: unknown;
}

export type JwtPayload = Record<string, unknown>;

/**
 * Ed25519 public keys by `kid`, and the kids of withdrawn keys: a token naming one of those is
 * refused as signed by a withdrawn key rather than by an unknown one.
 */
export type VerificationKeys = ReadonlyMap<string, KeyObject> & { readonly withdrawn?: ReadonlySet<string> };

export interface VerifyJwsOptions {
  /** Expected `typ`, e.g. `at+jwt` for mandates, `identity+jwt` for instance identity tokens. */
  typ: string;
  issuer: string;
  /** Required audience; null skips the check (only for our own tokens used as a subject). */
  audience: string | null;
  /** Ed25519 public keys by `kid`; nothing outside this map is ever used to verify. */
  keys: VerificationKeys;
  now: Date;
  clockSkewSeconds?: number;
  maxTokenLength?: number;
}

export interface VerifiedJws {
  header: JwsHeader;
  payload: JwtPayload;
}

const fail = (code: ErrorCode, message: string) => new MandateError(code, message, { expose: true });

const compactCodes: Record<CompactFailure, ErrorCode> = {
  too_large: 'ERR_TOKEN_TOO_LARGE',
  malformed: 'ERR_TOKEN_MALFORMED',
  duplicate_member: 'ERR_TOKEN_DUPLICATE_MEMBER',
};

/**
 * Header parameters that point at a key to trust. Our verification keys come from our own key
 * map only, so a token carrying one is refused rather than silently ignored (RFC 8725 §3.10).
 */
const KEY_REFERENCES = ['jku', 'x5u', 'jwk', 'x5c', 'x5t', 'x5t#S256'];

/** RFC 7515 §4.1.9: media types compare case-insensitively and `application/` may be omitted. */
const mediaType = (typ: string) => {
  const lower = typ.toLowerCase();
  return lower.includes('/') ? lower : `application/${lower}`;
};

/** Compact JWS over the JSON header and payload, signed with Ed25519 (RFC 8037 §3.1). */
export function signJws(
  header: Omit<JwsHeader, 'alg'> & { alg?: string },
  payload: JwtPayload,
  privateKey: KeyObject,
): string {
  if (header.alg !== undefined && header.alg !== TOKEN_ALG) {
    throw new MandateError('ERR_TOKEN_ALG', `Mandate tokens are signed with ${TOKEN_ALG} only`);
  }
  const signingInput = `${base64url(JSON.stringify({ ...header, alg: TOKEN_ALG }))}.${base64url(JSON.stringify(payload))}`;
  const signature = crypto.sign(null, Buffer.from(signingInput, 'latin1'), privateKey);
  return `${signingInput}.${signature.toString('base64url')}`;
}

/**
 * Verifies one of our tokens: structure, header, signature, then claims. Synchronous; every
 * failure is a 401 MandateError with a stable ERR_TOKEN_* code and no token material in it.
 * @see https://www.rfc-editor.org/rfc/rfc7515#section-5.2
 */
export function verifyJws(token: string, options: VerifyJwsOptions): VerifiedJws {
  const parsed = parseCompact(token, options.maxTokenLength ?? DEFAULT_MAX_TOKEN_LENGTH);
  if (!parsed.ok) throw fail(compactCodes[parsed.failure], `token is malformed: ${parsed.detail}`);
  const { header, signingInput, payload, signature } = parsed.jws;

  // RFC 7515 §4.1.11: an extension we do not understand must be refused, and we understand none.
  if (header.crit !== undefined) throw fail('ERR_TOKEN_CRIT', 'token header has critical extensions');
  for (const name of KEY_REFERENCES) {
    if (header[name] !== undefined) throw fail('ERR_TOKEN_HEADER', `token header parameter "${name}" is not accepted`);
  }
  // RFC 8725 §3.1: the algorithm comes from our allow-list, never from the token.
  if (header.alg !== TOKEN_ALG) throw fail('ERR_TOKEN_ALG', `token alg must be ${TOKEN_ALG}`);
  // RFC 8725 §3.11: explicit typing keeps one kind of token from being replayed as another.
  if (typeof header.typ !== 'string' || mediaType(header.typ) !== mediaType(options.typ)) {
    throw fail('ERR_TOKEN_TYP', `token typ must be ${options.typ}`);
  }
  const key = typeof header.kid === 'string' ? options.keys.get(header.kid) : undefined;
  if (!key && typeof header.kid === 'string' && options.keys.withdrawn?.has(header.kid)) {
    throw fail('ERR_TOKEN_KEY_REVOKED', 'token was signed by a withdrawn signing key');
  }
  if (!key) throw fail('ERR_TOKEN_KID', 'token kid does not name a known key');
  if (key.asymmetricKeyType !== 'ed25519') throw new MandateError('ERR_TOKEN_KEY_TYPE', 'verification key is not Ed25519');

  // RFC 7515 §5.2 step 8.
  if (!crypto.verify(null, signingInput, key, signature)) throw fail('ERR_TOKEN_SIGNATURE', 'token signature is invalid');

  const claims = parseJsonObject(payload);
  if (!claims.ok) {
    throw claims.reason === 'duplicate'
      ? fail('ERR_TOKEN_DUPLICATE_MEMBER', `token claim ${quote(claims.member)} appears twice`)
      : fail('ERR_TOKEN_MALFORMED', 'token payload is not a JSON object');
  }
  checkClaims(claims.value, {
    issuer: options.issuer,
    audience: options.audience,
    now: options.now,
    clockSkewSeconds: options.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS,
  });
  return { header: header as JwsHeader, payload: claims.value };
}
