// RFC 6749 §5.2, RFC 6750 §3.1, RFC 8693 §2.2.2, RFC 8707 §2, RFC 9449 §7.1 / §8 / §9 — OAuth wire errors
import { isMandateError } from '../errors.ts';
import { isStoreUnavailable, storeUnavailable } from '../store/errors.ts';

/** The `error` values Mandate's OAuth endpoints and resource servers answer with. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'temporarily_unavailable'
  | 'server_error';

export interface WireError {
  error: OAuthErrorCode;
  status: number;
}

/** Where the error is answered: the token endpoint or a protected resource (gateway, broker). */
export type OAuthSurface = 'token_endpoint' | 'resource';

type Surfaces = Readonly<Record<OAuthSurface, WireError>>;
const at = (tokenEndpoint: WireError, resource: WireError): Surfaces => ({ token_endpoint: tokenEndpoint, resource });
const only = (error: OAuthErrorCode, status = 400): Surfaces => at({ error, status }, { error, status });

// RFC 9449 §5 / §7.1: 400 at the token endpoint, 401 with WWW-Authenticate at a resource.
const dpopProof = at({ error: 'invalid_dpop_proof', status: 400 }, { error: 'invalid_dpop_proof', status: 401 });
const dpopNonce = at({ error: 'use_dpop_nonce', status: 400 }, { error: 'use_dpop_nonce', status: 401 });
// RFC 8693 §2.2.2: an invalid subject_token or actor_token is `invalid_request` at the token endpoint.
const token = at({ error: 'invalid_request', status: 400 }, { error: 'invalid_token', status: 401 });
// RFC 6750 §3.1: a resource answers 403 insufficient_scope.
const scope = at({ error: 'invalid_scope', status: 400 }, { error: 'insufficient_scope', status: 403 });

/** Mandate error code → wire error, per surface. One table, so every endpoint answers alike. */
export const OAUTH_ERRORS: Readonly<Record<string, Surfaces>> = {
  ERR_DPOP_INVALID: dpopProof,
  ERR_DPOP_REPLAY: dpopProof,
  ERR_DPOP_HTM: dpopProof,
  ERR_DPOP_HTU: dpopProof,
  ERR_DPOP_IAT: dpopProof,
  ERR_DPOP_ATH: dpopProof,
  ERR_DPOP_KEY_MISMATCH: dpopProof,
  ERR_DPOP_NONCE: dpopNonce,
  ERR_TOKEN_MALFORMED: token,
  ERR_TOKEN_TOO_LARGE: token,
  ERR_TOKEN_DUPLICATE_MEMBER: token,
  ERR_TOKEN_ALG: token,
  ERR_TOKEN_TYP: token,
  ERR_TOKEN_KID: token,
  ERR_TOKEN_CRIT: token,
  ERR_TOKEN_HEADER: token,
  ERR_TOKEN_SIGNATURE: token,
  ERR_TOKEN_EXPIRED: token,
  ERR_TOKEN_NOT_YET_VALID: token,
  ERR_TOKEN_AUDIENCE: token,
  ERR_TOKEN_ISSUER: token,
  ERR_TOKEN_REVOKED: token,
  ERR_SCOPE_INVALID: scope,
  ERR_SCOPE_EXCEEDS_PARENT: scope,
  ERR_TARGET_INVALID: only('invalid_target'),
  ERR_GRANT_INVALID: only('invalid_grant'),
  ERR_GRANT_TYPE_UNSUPPORTED: only('unsupported_grant_type'),
  ERR_CLIENT_INVALID: only('invalid_client', 401),
  ERR_CLIENT_UNAUTHORIZED: only('unauthorized_client'),
  ERR_SUBJECT_INVALID: token,
  ERR_TOKEN_INVALID: token,
  ERR_TOKEN_MISSING: token,
  ERR_ACTOR_REVOKED: only('invalid_grant'),
  ERR_AGENT_SUSPENDED: at({ error: 'invalid_grant', status: 400 }, { error: 'invalid_token', status: 401 }),
  ERR_DELEGATION_NOT_ALLOWED: only('invalid_grant'),
  ERR_DELEGATION_DEPTH: only('invalid_grant'),
  ERR_BUDGET_EXCEEDS_PARENT: only('invalid_request'),
  ERR_EXCHANGE_REQUEST: only('invalid_request'),
};

export interface OAuthErrorResponse {
  status: number;
  body: { error: OAuthErrorCode; error_description?: string };
}

/**
 * The RFC 6749 §5.2 JSON body and status for any thrown value. Unknown client errors become
 * `invalid_request`; anything else is a bare `server_error`, with no internal detail.
 */
export function toOAuthError(thrown: unknown, surface: OAuthSurface): OAuthErrorResponse {
  const error = isStoreUnavailable(thrown) ? storeUnavailable() : thrown;
  // RFC 6749 §4.1.2.1: the server cannot answer now (database unreachable, replica resynchronizing).
  if (isMandateError(error) && error.status === 503) return { status: 503, body: { error: 'temporarily_unavailable', error_description: description(error.message) } };
  if (!isMandateError(error) || error.status >= 500) return { status: 500, body: { error: 'server_error' } };
  const wire = Object.hasOwn(OAUTH_ERRORS, error.code)
    ? OAUTH_ERRORS[error.code]![surface]
    : ({ error: 'invalid_request', status: 400 } as const);
  const body = error.expose ? { error: wire.error, error_description: description(error.message) } : { error: wire.error };
  return { status: wire.status, body };
}

/** RFC 6749 §5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E. */
const description = (message: string) => message.replace(/["\\]/g, "'").replace(/[^\x20-\x7e]/g, '?');
