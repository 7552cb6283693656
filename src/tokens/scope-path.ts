// RFC 3986 §3.3 — HTTP path globs in scope items: `*` is one segment, a final `**` is any depth

/** Normalized segments: literals per RFC 3986 §6.2.2, `*`, and `**` only as the last one. */
export type PathGlob = readonly string[];

/** pchar (RFC 3986 §3.3) without `*`, which is reserved for globs. */
const LITERAL = /^(?:[A-Za-z0-9\-._~!$&'()+,;=:@]|%[0-9A-Fa-f]{2})+$/;
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/**
 * Parses an absolute path (`/`, `/a/b`, `/repos/*\/issues/**`) into normalized segments, or
 * returns why not. Empty segments, `.` and `..` (also percent-encoded) are refused: they are how
 * a request path escapes the prefix a scope names.
 */
export function parsePathGlob(path: string, allowGlobs: boolean): PathGlob | string {
  if (!path.startsWith('/')) return 'path must start with /';
  if (path === '/') return [];
  const segments = path.slice(1).split('/');
  const out: string[] = [];
  for (const [i, raw] of segments.entries()) {
    if (raw === '*' || raw === '**') {
      if (!allowGlobs) return 'a concrete path has no globs';
      if (raw === '**' && i !== segments.length - 1) return '** may only be the last segment';
      out.push(raw);
      continue;
    }
    if (!LITERAL.test(raw)) return `segment ${i + 1} is empty or has characters outside RFC 3986 pchar`;
    const segment = normalizeSegment(raw);
    if (segment === '.' || segment === '..') return 'dot segments are not allowed';
    out.push(segment);
  }
  return out;
}

/** RFC 3986 §6.2.2.1-2: upper-case hex digits, decode percent-encoded unreserved characters. */
function normalizeSegment(segment: string): string {
  return segment.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
  });
}

export const formatPathGlob = (glob: PathGlob): string => `/${glob.join('/')}`;

const isDeep = (glob: PathGlob) => glob[glob.length - 1] === '**';

/**
 * Exact language containment: every path `wanted` matches, `granted` matches too. Exact (not just
 * sound) because `**` is only ever last, so the relation is also reflexive and transitive.
 */
export function pathCovers(granted: PathGlob, wanted: PathGlob): boolean {
  const grantedDeep = isDeep(granted);
  const wantedDeep = isDeep(wanted);
  const fixedGranted = grantedDeep ? granted.length - 1 : granted.length;
  const fixedWanted = wantedDeep ? wanted.length - 1 : wanted.length;
  if (grantedDeep ? fixedWanted < fixedGranted : wantedDeep || fixedWanted !== fixedGranted) return false;
  for (let i = 0; i < fixedGranted; i++) {
    // A literal covers only itself; `*` covers any one segment, literal or `*`.
    if (granted[i] !== '*' && granted[i] !== wanted[i]) return false;
  }
  return true;
}
