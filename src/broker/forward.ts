import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { type ErrorCode, MandateError } from '../errors.ts';

/**
 * One upstream exchange over node:http(s): sockets come from the connection's own agent, whose
 * `lookup` is the address guard; redirects are never followed; the whole exchange has one
 * deadline and the response one size limit. Failures are named by code only: a socket error's
 * message can carry the URL, and the URL can carry an injected query credential.
 */
export interface UpstreamRequest {
  url: URL;
  method: string;
  headers: OutgoingHttpHeaders;
  body: Buffer | undefined;
  timeoutMs: number;
  bodyLimit: number;
  agent: http.Agent;
  /** The address guard; given per request too, as an agent's options are not public API. */
  lookup: LookupFunction;
}

export interface UpstreamResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A keep-alive agent per connection, connecting only through `lookup`. */
export function connectionAgent(url: URL, lookup: LookupFunction): http.Agent {
  const options = { keepAlive: true, maxSockets: 256, maxFreeSockets: 64, lookup };
  return url.protocol === 'https:' ? new https.Agent(options) : new http.Agent(options);
}

export const upstreamError = (code: ErrorCode, message: string) => new MandateError(code, message, { expose: true });

function failure(error: NodeJS.ErrnoException, connection: string): MandateError {
  if (error instanceof MandateError) return error;
  if (error.code === 'ERR_UPSTREAM_ADDRESS_REFUSED') {
    return upstreamError('ERR_UPSTREAM_ADDRESS_REFUSED', `connection ${connection} resolved to an address the broker does not reach`);
  }
  const cause = /^[A-Z0-9_]{2,40}$/.test(error.code ?? '') ? error.code : 'network error';
  return upstreamError('ERR_UPSTREAM_UNAVAILABLE', `the upstream of connection ${connection} could not be reached (${cause})`);
}

export function forward(connection: string, request: UpstreamRequest): Promise<UpstreamResponse> {
  const send = request.url.protocol === 'https:' ? https.request : http.request;
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (error: MandateError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outgoing.destroy();
      reject(error);
    };
    const outgoing = send(request.url, { method: request.method, headers: request.headers, agent: request.agent, lookup: request.lookup });
    const timer = setTimeout(() => fail(upstreamError('ERR_UPSTREAM_TIMEOUT', `the upstream of connection ${connection} did not answer within ${request.timeoutMs} ms`)), request.timeoutMs);
    outgoing.on('error', (error: NodeJS.ErrnoException) => fail(failure(error, connection)));
    outgoing.on('response', (incoming) => {
      const tooLarge = () => upstreamError('ERR_UPSTREAM_TOO_LARGE', `the upstream response is larger than the connection's limit of ${request.bodyLimit} bytes`);
      if (Number(incoming.headers['content-length'] ?? 0) > request.bodyLimit) return fail(tooLarge());
      const chunks: Buffer[] = [];
      let size = 0;
      incoming.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > request.bodyLimit) return fail(tooLarge());
        chunks.push(chunk);
      });
      incoming.on('error', (error: NodeJS.ErrnoException) => fail(failure(error, connection)));
      incoming.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ status: incoming.statusCode ?? 502, headers: incoming.headers, body: Buffer.concat(chunks, size) });
      });
    });
    outgoing.end(request.body);
  });
}
