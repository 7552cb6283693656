// RFC 7519 §4.1 — registered JWT claims: iss, aud, exp, nbf, iat
import { type ErrorCode, MandateError } from '../errors.ts';

export interface ClaimsExpectations {
  issuer: string;
  /** null skips the audience check: only for tokens Mandate itself consumes as a subject. */
  audience: string | null;
  now: Date;
  /** Tolerance for `nbf` only (another replica's clock may run slightly ahead); `exp` is exact. */
  clockSkewSeconds: number;
}

const fail = (code: ErrorCode, message: string) => new MandateError(code, message, { expose: true });

const isNumericDate = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/**
 * Checks the registered claims of a verified JWT. `exp` is required: a Mandate token without
 * an expiry would be a standing credential (RFC 9068 §2.2 requires it for access tokens).
 */
export function checkClaims(payload: Record<string, unknown>, expected: ClaimsExpectations): void {
  // §4.1.1: iss is a case-sensitive string, compared exactly.
  if (payload.iss !== expected.issuer) throw fail('ERR_TOKEN_ISSUER', 'token issuer is not the expected issuer');
  // §4.1.3: the recipient must identify itself with a value in aud, else reject.
  const aud = payload.aud;
  if (expected.audience !== null && !(aud === expected.audience || (Array.isArray(aud) && aud.includes(expected.audience)))) {
    throw fail('ERR_TOKEN_AUDIENCE', 'token audience does not include this recipient');
  }
  const now = Math.floor(expected.now.getTime() / 1000);
  const skew = expected.clockSkewSeconds;
  for (const claim of ['exp', 'nbf', 'iat'] as const) {
    const value = payload[claim];
    if (value !== undefined && !isNumericDate(value)) {
      throw fail('ERR_TOKEN_MALFORMED', `"${claim}" claim must be a NumericDate`);
    }
  }
  // §4.1.5: not accepted before nbf.
  if (payload.nbf !== undefined && (payload.nbf as number) > now + skew) {
    throw fail('ERR_TOKEN_NOT_YET_VALID', 'token is not valid yet');
  }
  // §4.1.4: not accepted on or after exp. No leeway: these are Mandate's own tokens, so the issuer's
  // clock is ours and a token ends at the second it says, at every replica and enforcement point.
  if (payload.exp === undefined) throw fail('ERR_TOKEN_MALFORMED', '"exp" claim is required');
  if ((payload.exp as number) <= expected.now.getTime() / 1000) throw fail('ERR_TOKEN_EXPIRED', 'token has expired');
}
