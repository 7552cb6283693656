// RFC 3986 §3.3, §5.2.4, §6.2.2 — the path an agent asks the broker for, made safe to forward
import { type ErrorCode, MandateError } from '../errors.ts';
import type { PathGlob } from '../tokens/scope-path.ts';

/**
 * A broker request path in the one form that is matched, authorized, audited and forwarded. What
 * servers disagree about is refused rather than interpreted: dot segments in any spelling
 * (`..`, `%2e%2e`, `.%2E`, `..;` for servlet containers, full-width dots after NFKC), encoded
 * separators (`%2f`, `%5c`), empty segments (`//`), bytes that are not UTF-8 and control
 * characters. Every remaining segment is normalized per RFC 3986 §6.2.2 (upper-case hex, decoded
 * unreserved characters), so what the policy saw is byte for byte what the upstream receives.
 */
export interface BrokerPath {
  /** Normalized segments, matched against allow rules and scope items. */
  segments: PathGlob;
  /** `/a/b`, or `/a/b/` when the request had a trailing slash (kept when forwarding). */
  text: string;
}

/** The Cedar endpoint id `<METHOD> <path>` is at most 256 characters in the policy request schema. */
export const MAX_PATH_LENGTH = 240;

const PCHAR = /^(?:[A-Za-z0-9\-._~!$&'()+,;=:@]|%[0-9A-Fa-f]{2})+$/;
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

const refuse = (code: ErrorCode, message: string) => new MandateError(code, message);
const traversal = () => refuse('ERR_BROKER_PATH_TRAVERSAL', 'the path has a dot segment (. or ..) in some spelling; it is refused, not resolved');

function normalizeSegment(raw: string): string {
  return raw.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
  });
}

function checkSegment(raw: string, index: number): string {
  if (raw === '') throw refuse('ERR_BROKER_PATH_INVALID', `segment ${index + 1} is empty (// in the path)`);
  if (/%(2f|5c)/i.test(raw)) throw refuse('ERR_BROKER_PATH_ENCODED_SEPARATOR', 'the path has an encoded / or \\ (%2F, %5C)');
  if (!PCHAR.test(raw)) throw refuse('ERR_BROKER_PATH_INVALID', `segment ${index + 1} has characters outside RFC 3986 pchar`);
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    throw refuse('ERR_BROKER_PATH_INVALID', `segment ${index + 1} is not valid percent-encoded UTF-8`);
  }
  if (/[\u0000-\u001f\u007f]/.test(decoded)) throw refuse('ERR_BROKER_PATH_INVALID', `segment ${index + 1} has control characters`);
  for (const form of [decoded, decoded.normalize('NFKC')]) {
    if (/[/\\]/.test(form)) throw refuse('ERR_BROKER_PATH_ENCODED_SEPARATOR', 'the path has a / or \\ in another spelling');
    const beforeParams = form.split(';')[0]!;
    if (beforeParams === '.' || beforeParams === '..') throw traversal();
  }
  return normalizeSegment(raw);
}

/** `rawPath` is what follows `/broker/<connection>` in the request target, without the query. */
export function normalizeBrokerPath(rawPath: string): BrokerPath {
  if (rawPath === '' || rawPath === '/') return { segments: [], text: '/' };
  if (!rawPath.startsWith('/')) throw refuse('ERR_BROKER_PATH_INVALID', 'the path must start with /');
  if (rawPath.length > MAX_PATH_LENGTH) throw refuse('ERR_BROKER_PATH_INVALID', `the path is longer than ${MAX_PATH_LENGTH} characters`);
  const trailing = rawPath.endsWith('/');
  const parts = rawPath.slice(1, trailing ? -1 : undefined).split('/');
  const segments = parts.map(checkSegment);
  return { segments, text: `/${segments.join('/')}${trailing ? '/' : ''}` };
}

/** Characters a forwarded query may hold: visible ASCII, no fragment. */
export function checkQuery(query: string): string {
  if (query.length > 8192) throw refuse('ERR_BROKER_QUERY_INVALID', 'the query is longer than 8192 characters');
  if (!/^[\x21-\x7e]*$/.test(query) || query.includes('#')) throw refuse('ERR_BROKER_QUERY_INVALID', 'the query has characters that must be percent-encoded');
  return query;
}
