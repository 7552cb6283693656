// RFC 9449 — DPoP proofs
import crypto from 'node:crypto';
import { type ErrorCode, MandateError } from '../errors.ts';
import { DPOP_ALGS, type DpopAlg, importProofKey, verifyProofSignature } from '../jose/dpop-key.ts';
import { htuMatches } from './dpop-htu.ts';
import { parseCompact } from '../jose/jws-compact.ts';
import type { ReplayCache } from './replay-cache.ts';
import { parseJsonObject } from '../jose/strict-json.ts';

export const DPOP_TYP = 'dpop+jwt';
export const DEFAULT_PROOF_MAX_AGE_SECONDS = 60;
export const DEFAULT_PROOF_FUTURE_SKEW_SECONDS = 5;
const MAX_PROOF_LENGTH = 4 * 1024;
const MAX_JTI_LENGTH = 256;

export interface VerifyDpopOptions {
  /** The request's method, e.g. `POST`. */
  htm: string;
  /** The URI the request was received on, as the server's public address spells it. */
  htu: string;
  /** The access token presented with the proof, at a resource server (RFC 9449 §7). */
  accessToken?: string;
  /** The nonce(s) the server currently requires (RFC 9449 §8, §9); absent when none. */
  nonce?: string | readonly string[];
  now: Date;
  maxAgeSeconds?: number;
  futureSkewSeconds?: number;
  replay: ReplayCache;
  /** The `cnf.jkt` of the presented token: the proof must be signed by that key (§4.3 step 12). */
  expectedJkt?: string;
}

export interface VerifiedDpopProof {
  jkt: string;
  jti: string;
  iat: number;
}

const fail = (code: ErrorCode, message: string) => new MandateError(code, message, { expose: true });
const invalid = (message: string) => fail('ERR_DPOP_INVALID', `DPoP proof ${message}`);

const sha256 = (text: string) => crypto.createHash('sha256').update(text).digest('base64url');

/**
 * Checks one DPoP proof (RFC 9449 §4.3) and records its `jti` last, so a refused proof never
 * consumes a `jti`. Every failure is a MandateError with an ERR_DPOP_* code.
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4.3
 */
export async function verifyDpopProof(proof: string, options: VerifyDpopOptions): Promise<VerifiedDpopProof> {
  // §4.3 steps 1-2: one well-formed JWT (two header fields joined by ", " are not one).
  const parsed = parseCompact(proof, MAX_PROOF_LENGTH);
  if (!parsed.ok) throw invalid(`is malformed: ${parsed.detail}`);
  const { header, signingInput, payload, signature } = parsed.jws;

  // §4.3 step 4: typ is dpop+jwt.
  if (header.typ !== DPOP_TYP) throw invalid(`typ must be ${DPOP_TYP}`);
  // §4.3 step 5: an asymmetric algorithm we support, never none or a MAC.
  if (!DPOP_ALGS.includes(header.alg as DpopAlg)) throw invalid(`alg must be one of ${DPOP_ALGS.join(', ')}`);
  const alg = header.alg as DpopAlg;
  // RFC 7515 §4.1.11: we understand no critical extension.
  if (header.crit !== undefined) throw invalid('has critical extensions');
  // §4.3 step 7: the jwk header is a public key; step 6: the signature verifies with it.
  const proofKey = importProofKey(alg, header.jwk);
  if (typeof proofKey === 'string') throw invalid(proofKey);
  if (!verifyProofSignature(alg, proofKey.key, signingInput, signature)) throw invalid('signature is invalid');

  // §4.3 step 3 and §4.2: the claims a proof must carry, with their types.
  const body = parseJsonObject(payload);
  if (!body.ok) throw invalid('payload is not a JSON object with unique members');
  const { jti, htm, htu, iat, ath, nonce } = body.value;
  if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH) throw invalid('jti is missing or invalid');
  if (typeof htm !== 'string' || typeof htu !== 'string') throw invalid('htm or htu is missing');
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw invalid('iat is missing or not a number');

  // §4.3 step 8: htm matches the request method (case-sensitive, RFC 9110 §9.1).
  if (htm !== options.htm) throw fail('ERR_DPOP_HTM', 'DPoP proof htm does not match the request method');
  // §4.3 step 9: htu matches the request URI, ignoring query and fragment.
  if (!htuMatches(htu, options.htu)) throw fail('ERR_DPOP_HTU', 'DPoP proof htu does not match the request URI');

  // §4.3 step 11 and §11.1: iat within a short window around now.
  const now = options.now.getTime() / 1000;
  const maxAge = options.maxAgeSeconds ?? DEFAULT_PROOF_MAX_AGE_SECONDS;
  if (iat < now - maxAge || iat > now + (options.futureSkewSeconds ?? DEFAULT_PROOF_FUTURE_SKEW_SECONDS)) {
    throw fail('ERR_DPOP_IAT', 'DPoP proof iat is outside the acceptable window');
  }
  // §4.3 step 10, §8: the server-provided nonce, when one is required.
  if (options.nonce !== undefined) {
    const accepted = typeof options.nonce === 'string' ? [options.nonce] : options.nonce;
    if (typeof nonce !== 'string' || !accepted.includes(nonce)) {
      throw fail('ERR_DPOP_NONCE', 'DPoP proof must carry the nonce the server provided');
    }
  }
  // §4.3 step 12 and §7.1: bound to the access token it is presented with, and to its key.
  if (options.accessToken !== undefined && ath !== sha256(options.accessToken)) {
    throw fail('ERR_DPOP_ATH', 'DPoP proof ath does not match the access token');
  }
  if (options.expectedJkt !== undefined && proofKey.jkt !== options.expectedJkt) {
    throw fail('ERR_DPOP_KEY_MISMATCH', 'DPoP proof key is not the key the token is bound to');
  }

  // §11.1: a jti is accepted once while its iat is acceptable. Keyed per proof key, so nobody
  // can burn another client's jti.
  const expiresAt = Math.ceil(iat) + maxAge + 1;
  if (!(await options.replay.checkAndStore(sha256(`${proofKey.jkt}.${jti}`), expiresAt))) {
    throw fail('ERR_DPOP_REPLAY', 'DPoP proof jti has already been used');
  }
  return { jkt: proofKey.jkt, jti, iat };
}
