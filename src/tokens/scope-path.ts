// RFC 3986 §3.3 — HTTP path globs in scope items: `*` is one segment, a final `**` is any depth

/** Normalized segments: literals per RFC 3986 §6.2.2, `*`, and `**` only as the last one. */
export type PathGlob = readonly string[];

/** pchar (RFC 3986 §3.3) without `*`, which is reserved for globs. */
const LITERAL = /^(?:[A-Za-z0-9\-._~!$&'()+,;=:@]|%[0-9A-Fa-f]{2})+$/;
/** What a canonical segment holds as itself: unreserved characters, sub-delims but `*`, `:` and `@`. */
const PLAIN = /^[A-Za-z0-9\-._~!$&'()+,;=:@]$/;
const utf8 = new TextEncoder();

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
    let decoded: string;
    try {
      decoded = decodeURIComponent(raw);
    } catch {
      return `segment ${i + 1} is not valid percent-encoded UTF-8`;
    }
    if (decoded === '.' || decoded === '..') return 'dot segments are not allowed';
    out.push(canonicalSegment(decoded));
  }
  return out;
}

/**
 * The one spelling of a decoded segment (RFC 3986 §6.2.2, and further): every character a server
 * would take the same with or without percent-encoding is written plain, every other one as
 * upper-case `%XX` of its UTF-8 bytes. `%41`, `a`-for-`%61` and `%3a` all become one string.
 */
export function canonicalSegment(decoded: string): string {
  let out = '';
  for (const char of decoded) {
    if (PLAIN.test(char)) out += char;
    else for (const byte of utf8.encode(char)) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** A literal segment folded to lower case (a connection whose upstream ignores letter case). */
export const lowerSegment = (segment: string): string =>
  segment === '*' || segment === '**' ? segment : canonicalSegment(decodeURIComponent(segment).toLowerCase());

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
