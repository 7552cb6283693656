// RFC 9110 §7.6.1 (hop-by-hop fields), §11 (authentication fields) — what crosses the broker
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { scrubSecrets } from '../audit/redact.ts';
import { MandateError } from '../errors.ts';

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'];

/**
 * From the agent: its own credentials and Mandate's proof (the mandate is for the broker, never
 * the upstream), routing and framing the broker sets itself, and forwarding fields that would
 * speak for the broker. `accept-encoding` is replaced so the body can be scrubbed.
 */
const FROM_AGENT = new Set([
  ...HOP_BY_HOP,
  'authorization', 'proxy-authorization', 'cookie', 'cookie2', 'dpop', 'host', 'content-length', 'expect',
  'accept-encoding', 'origin', 'forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-real-ip',
]);

/**
 * From the upstream: fields that set or ask for credentials (cookies, challenges), fields that
 * would bind the broker's own origin (HSTS, Alt-Svc, CORS, Clear-Site-Data), and framing the
 * broker recomputes. Mandate's `cache-control: no-store` stays on every brokered response.
 */
const FROM_UPSTREAM = new Set([
  ...HOP_BY_HOP,
  'set-cookie', 'set-cookie2', 'www-authenticate', 'proxy-authenticate', 'authentication-info', 'proxy-authentication-info',
  'authorization', 'proxy-authorization', 'cookie', 'dpop-nonce', 'content-length', 'content-encoding', 'location',
  'strict-transport-security', 'alt-svc', 'clear-site-data', 'public-key-pins', 'public-key-pins-report-only', 'cache-control',
]);

/** Field names a `Connection` header lists are hop-by-hop too (RFC 9110 §7.6.1). */
const connectionListed = (headers: IncomingHttpHeaders) =>
  new Set(String(headers.connection ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean));

const headerInvalid = (name: string) =>
  new MandateError('ERR_BROKER_HEADER_INVALID', `header ${name.slice(0, 60)} holds CR, LF or NUL`);

/** The agent's headers as forwarded: stripped, checked, and without the names the connection injects. */
export function forwardedRequestHeaders(headers: IncomingHttpHeaders, injected: readonly string[]): OutgoingHttpHeaders {
  const listed = connectionListed(headers);
  const drop = new Set(injected);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || FROM_AGENT.has(name) || listed.has(name) || drop.has(name) || name.startsWith('proxy-')) continue;
    for (const v of [value].flat()) if (/[\r\n\0]/.test(v)) throw headerInvalid(name);
    out[name] = value;
  }
  return out;
}

/** The upstream's headers as returned to the agent: stripped, then every secret form scrubbed. */
export function returnedResponseHeaders(headers: IncomingHttpHeaders, injected: readonly string[], secrets: readonly string[]): Record<string, string | string[]> {
  const listed = connectionListed(headers);
  const drop = new Set(injected);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || FROM_UPSTREAM.has(name) || listed.has(name) || drop.has(name) || name.startsWith('access-control-')) continue;
    out[name] = value;
  }
  return scrubSecrets(out, secrets);
}
