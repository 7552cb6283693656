import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';

/** What the stand-in upstream API received. */
export interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * A real HTTP server on loopback standing in for an upstream API: it records every request and
 * echoes it back (the Authorization header in the body and in a response header, as a careless API
 * would), and has routes that misbehave the ways upstreams do.
 */
export async function startUpstream(secretInBinary: string) {
  const received: Received[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const entry = { method: request.method!, url: request.url!, headers: request.headers, body: Buffer.concat(chunks).toString() };
      received.push(entry);
      const path = request.url!.split('?')[0]!;
      const auth = request.headers.authorization ?? request.headers['x-api-key'] ?? '';
      if (path.endsWith('/redirect-away')) {
        response.writeHead(302, { location: 'http://evil.example/steal' }).end();
      } else if (path.endsWith('/redirect-home')) {
        response.writeHead(303, { location: '/api/echo/next?page=2' }).end();
      } else if (path.endsWith('/binary')) {
        response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.concat([Buffer.from([0, 1, 2, 255]), Buffer.from(secretInBinary), Buffer.from([0])]));
      } else if (path.endsWith('/gzip')) {
        response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end(zlib.gzipSync(JSON.stringify({ auth })));
      } else if (path.endsWith('/slow')) {
        setTimeout(() => response.end('late'), 2000).unref();
      } else if (path.endsWith('/big')) {
        response.writeHead(200, { 'content-type': 'text/plain' }).end('x'.repeat(200 * 1024));
      } else if (path.endsWith('/missing')) {
        response.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
      } else {
        response.writeHead(200, {
          'content-type': 'application/json',
          'x-echo-auth': String(auth),
          'set-cookie': 'session=abc; HttpOnly',
          'www-authenticate': 'Basic realm="upstream"',
          'strict-transport-security': 'max-age=31536000',
        });
        response.end(JSON.stringify(entry));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    received,
    port,
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A request with the target exactly as given (no URL normalization), as a hostile agent sends it. */
export function rawRequest(port: number, method: string, target: string, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, method, path: target, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (c: Buffer) => chunks.push(c));
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks).toString() }));
    });
    request.on('error', reject);
    request.end();
  });
}
