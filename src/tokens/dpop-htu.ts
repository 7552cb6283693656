// RFC 9449 §4.3 — comparing the DPoP `htu` claim with the request URI

/**
 * The form both sides are compared in: RFC 3986 §6.2.2 syntax-based and §6.2.3 scheme-based
 * normalization (scheme and host lower case, default port dropped, empty path as `/`, dot
 * segments removed, percent-encodings with upper-case hex and unreserved characters decoded),
 * without query and fragment (RFC 9449 §4.3 step 9). Undefined when not an http(s) URI or when
 * it carries user information.
 */
export function normalizeHtu(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username !== '' || url.password !== '') {
    return undefined;
  }
  return `${url.protocol}//${url.host}${normalizePercentEncoding(url.pathname)}`;
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;

function normalizePercentEncoding(path: string): string {
  return path.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
  });
}

/** True when the proof's `htu` names the same resource as the URI the request was received on. */
export const htuMatches = (claimed: string, requestUri: string): boolean => {
  const normalized = normalizeHtu(claimed);
  return normalized !== undefined && normalized === normalizeHtu(requestUri);
};
