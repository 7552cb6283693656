// WHATWG URL host parsing — the base URL a broker connection may reach
import net from 'node:net';
import { MandateError } from '../errors.ts';
import { addressRefusal, classifyAddress } from '../net/addresses.ts';

const badBaseUrl = (message: string) => new MandateError('ERR_CONNECTION_BASE_URL', message);

/** The host exactly as written in an absolute URL, before WHATWG parsing rewrites it. */
const rawHostOf = (text: string) => /^[A-Za-z][A-Za-z0-9+.-]*:\/\/(?:[^@/?#\\]*@)?(\[[^\]]*\]|[^:/?#\\]*)/.exec(text)?.[1]?.toLowerCase();

/**
 * A connection's base URL, checked when it is configured and again before every call: http(s),
 * no user info, query or fragment, a canonically spelled host that is not a refused address, and
 * plain `http:` only towards a loopback literal unless the connection is marked `insecure`.
 */
export function checkBaseUrl(text: string, insecure: boolean): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw badBaseUrl('base_url is not an absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw badBaseUrl('base_url must be http: or https:');
  if (url.username || url.password) throw badBaseUrl('base_url must not carry user information; inject credentials instead');
  if (url.search || url.hash || /[?#]/.test(text)) throw badBaseUrl('base_url must not have a query or fragment');
  const host = url.hostname;
  const literal = host.startsWith('[') ? host.slice(1, -1) : net.isIPv4(host) ? host : null;
  if (literal !== null) {
    if (rawHostOf(text) !== host) throw badBaseUrl(`base_url spells the address ${host} unusually; write it as ${host}`);
    const kind = classifyAddress(literal);
    if (kind === 'mapped') throw badBaseUrl('base_url names an IPv4-mapped or NAT64 address; name the IPv4 address itself');
    const refusal = addressRefusal(literal, false);
    if (refusal) throw badBaseUrl(`base_url names ${host}: ${refusal}`);
    if (url.protocol === 'http:' && kind !== 'loopback' && !insecure) throw badBaseUrl('base_url must be https: (plain http: only to a loopback address, or with insecure: true)');
  } else if (url.protocol === 'http:' && !insecure) {
    throw badBaseUrl('base_url must be https: (plain http: only to a loopback address, or with insecure: true)');
  }
  return url;
}

