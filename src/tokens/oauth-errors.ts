// RFC 6749 §5.2, RFC 6750 §3.1, RFC 8693 §2.2.2, RFC 8707 §2, RFC 9449 §7.1 / §8 / §9 — OAuth wire errors
import { CATALOGUE, type OAuthErrorCode, type OAuthSurface } from '../errors/catalogue.ts';
import { isMandateError } from '../errors.ts';
import { isStoreUnavailable, storeUnavailable } from '../store/errors.ts';

export type { OAuthErrorCode, OAuthSurface, WireError } from '../errors/catalogue.ts';

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
  const mapped = Object.hasOwn(CATALOGUE, error.code) ? CATALOGUE[error.code].oauth : undefined;
  const wire = mapped?.[surface] ?? ({ error: 'invalid_request', status: 400 } as const);
  const body = error.expose ? { error: wire.error, error_description: description(error.message) } : { error: wire.error };
  return { status: wire.status, body };
}

/** RFC 6749 §5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E. */
const description = (message: string) => message.replace(/["\\]/g, "'").replace(/[^\x20-\x7e]/g, '?');
