// Outbound JSON reads from an identity provider, through the address guard
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { MandateError } from '../errors.ts';
import { issuerAddressRefusal, pinnedLookup, type Resolver, systemResolver } from './addresses.ts';

export interface FetchJsonOptions {
  /** Loopback and private addresses (and plain http:) are reached only when set. */
  allowLoopback: boolean;
  resolver?: Resolver;
  timeoutMs?: number;
  maxBytes?: number;
}

/** Reads one JSON document; the signature a caller may replace in tests or wrap. */
export type FetchJson = (url: string, options: FetchJsonOptions) => Promise<unknown>;

const refused = (message: string) => new MandateError('ERR_ISSUER_ADDRESS', message);
const unavailable = (message: string) => new MandateError('ERR_ISSUER_UNAVAILABLE', message);

/** Where the URL may be fetched from, checked before any connection: scheme, credentials, a literal address. */
export function checkFetchUrl(text: string, allowLoopback: boolean): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw refused('not an absolute URL');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && allowLoopback)) throw refused(`${url.origin} must be https: (plain http: only with allow_loopback)`);
  if (url.username || url.password) throw refused('a URL with user information is refused');
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (net.isIP(host)) {
    const why = issuerAddressRefusal(host, allowLoopback);
    if (why) throw refused(`${url.host}: ${why}`);
  }
  return url;
}

/**
 * GET a JSON document. Names are resolved by the guard's own lookup, which checks every address it
 * answers and is what the socket connects to (no DNS rebinding window); redirects are not
 * followed; the body is bounded in size and time. Never a token or key in an error message.
 */
export const fetchJson: FetchJson = async (text, options) => {
  const url = checkFetchUrl(text, options.allowLoopback);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const maxBytes = options.maxBytes ?? 512 * 1024;
  const lookup = net.isIP(host) ? undefined : pinnedLookup(host.toLowerCase(), options.resolver ?? systemResolver, Date.now, (ip) => issuerAddressRefusal(ip, options.allowLoopback));
  return new Promise((resolve, reject) => {
    const request = (url.protocol === 'https:' ? https : http).request(
      url,
      { method: 'GET', headers: { accept: 'application/json' }, timeout: options.timeoutMs ?? 5000, ...(lookup ? { lookup } : {}) },
      (response) => {
        if (response.statusCode !== 200) {
          response.resume();
          reject(unavailable(`${url.origin}${url.pathname} answered ${response.statusCode}`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) {
            request.destroy();
            reject(unavailable(`${url.origin}${url.pathname} answered more than ${maxBytes} bytes`));
          } else chunks.push(chunk);
        });
        response.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          } catch {
            reject(unavailable(`${url.origin}${url.pathname} did not answer JSON`));
          }
        });
        response.on('error', () => reject(unavailable(`${url.origin}${url.pathname} broke off its answer`)));
      },
    );
    request.on('timeout', () => request.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    request.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ERR_UPSTREAM_ADDRESS_REFUSED') reject(refused(error.message));
      else reject(unavailable(`${url.origin} is not reachable (${error.code ?? 'error'})`));
    });
    request.end();
  });
};
