// RFC 3986 §3.3, §5.2.4, §6.2.2 — the path an agent asks the broker for, in the one form that is decided
import { type ErrorCode, MandateError } from '../errors.ts';
import { identifierProblem } from '../validation.ts';
import { canonicalSegment, type PathGlob } from '../tokens/scope-path.ts';

/**
 * A broker request path in the one form that is matched, authorized, audited and forwarded.
 * Spellings that upstream servers fold into one resource either become that one form or are
 * refused, so no spelling reaches what the canonical form would be denied:
 *
 *   spelling                                   rule
 *   `%7e`, `%41`, `%3a`, lower-case hex        canonicalized: plain where plain means the same, else `%XX`
 *   letter case (`/Admin`)                     canonicalized to lower case when the connection says
 *                                              `path_case: insensitive`; kept otherwise
 *   trailing slash (`/a/b/`)                   decided as `/a/b`; the slash is forwarded as sent
 *   dot segments (`.`, `..`, `%2e`, `..;`,     refused: ERR_BROKER_PATH_TRAVERSAL
 *     full-width dots after NFKC)
 *   `%2F`, `%5C`, `\`, full-width `/`          refused: ERR_BROKER_PATH_ENCODED_SEPARATOR
 *   `%25XX` (`%252F`: decoded twice is `/`)    refused: ERR_BROKER_PATH_DOUBLE_ENCODED
 *   matrix parameters (`/a;x/b`, `%3B`)        refused: ERR_BROKER_PATH_MATRIX_PARAMS (servlet
 *                                              containers drop them, others keep them)
 *   `//`, control or invisible characters,     refused: ERR_BROKER_PATH_INVALID
 *     not UTF-8, not NFC, surrounding spaces,
 *     outside pchar
 */
export interface BrokerPath {
  /** Canonical segments, matched against allow rules and scope items. */
  segments: PathGlob;
  /** `/a/b`: the path decided on (policy, scope, audit), never with a trailing slash. */
  text: string;
  /** `text`, with the request's trailing slash kept: what the upstream receives. */
  forwarded: string;
}

export interface PathOptions {
  /** The upstream ignores letter case in paths: decide and forward the lower-case form. */
  caseInsensitive?: boolean;
}

/** The Cedar endpoint id `<METHOD> <path>` is at most 256 characters in the policy request schema. */
export const MAX_PATH_LENGTH = 240;

const PCHAR = /^(?:[A-Za-z0-9\-._~!$&'()+,;=:@]|%[0-9A-Fa-f]{2})+$/;

const refuse = (code: ErrorCode, message: string) => new MandateError(code, message);
const traversal = () => refuse('ERR_BROKER_PATH_TRAVERSAL', 'the path has a dot segment (. or ..) in some spelling; it is refused, not resolved');
const separator = () => refuse('ERR_BROKER_PATH_ENCODED_SEPARATOR', 'the path has a / or \\ in another spelling (%2F, %5C, \\)');

function checkSegment(raw: string, index: number, options: PathOptions): string {
  if (raw === '') throw refuse('ERR_BROKER_PATH_INVALID', `segment ${index + 1} is empty (// in the path)`);
  if (/%(2f|5c)/i.test(raw) || raw.includes('\\')) throw separator();
  if (!PCHAR.test(raw)) throw refuse('ERR_BROKER_PATH_INVALID', `segment ${index + 1} has characters outside RFC 3986 pchar`);
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    throw refuse('ERR_BROKER_PATH_INVALID', `segment ${index + 1} is not valid percent-encoded UTF-8`);
  }

  for (const form of [decoded, decoded.normalize('NFKC')]) {
    if (/[/\\]/.test(form)) throw separator();
    const beforeParams = form.split(';')[0]!;
    if (beforeParams === '.' || beforeParams === '..') throw traversal();
  }
  if (/%[0-9A-Fa-f]{2}/.test(decoded)) throw refuse('ERR_BROKER_PATH_DOUBLE_ENCODED', `segment ${index + 1} is percent-encoded twice (%25XX); a server that decodes again would see another path`);
  if (decoded.includes(';')) throw refuse('ERR_BROKER_PATH_MATRIX_PARAMS', `segment ${index + 1} has a matrix parameter (;); servers disagree on whether it names another resource`);
  // The identifier rules: no control or invisible characters, NFC, no surrounding whitespace
  // (Windows servers drop a trailing space: `/admin%20` is `/admin` there).
  const problem = identifierProblem(decoded);
  if (problem) throw refuse('ERR_BROKER_PATH_INVALID', `segment ${index + 1} ${problem}`);
  return canonicalSegment(options.caseInsensitive ? decoded.toLowerCase() : decoded);
}

/** `rawPath` is what follows `/broker/<connection>` in the request target, without the query. */
export function normalizeBrokerPath(rawPath: string, options: PathOptions = {}): BrokerPath {
  if (rawPath === '' || rawPath === '/') return { segments: [], text: '/', forwarded: '/' };
  if (!rawPath.startsWith('/')) throw refuse('ERR_BROKER_PATH_INVALID', 'the path must start with /');
  if (rawPath.length > MAX_PATH_LENGTH) throw refuse('ERR_BROKER_PATH_INVALID', `the path is longer than ${MAX_PATH_LENGTH} characters`);
  const trailing = rawPath.endsWith('/');
  const parts = rawPath.slice(1, trailing ? -1 : undefined).split('/');
  const segments = parts.map((raw, i) => checkSegment(raw, i, options));
  const text = `/${segments.join('/')}`;
  if (text.length > MAX_PATH_LENGTH) throw refuse('ERR_BROKER_PATH_INVALID', `the path is longer than ${MAX_PATH_LENGTH} characters`);
  return { segments, text, forwarded: trailing ? `${text}/` : text };
}

/** Characters a forwarded query may hold: visible ASCII, no fragment. */
export function checkQuery(query: string): string {
  if (query.length > 8192) throw refuse('ERR_BROKER_QUERY_INVALID', 'the query is longer than 8192 characters');
  if (!/^[\x21-\x7e]*$/.test(query) || query.includes('#')) throw refuse('ERR_BROKER_QUERY_INVALID', 'the query has characters that must be percent-encoded');
  return query;
}
