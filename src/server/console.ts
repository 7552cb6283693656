import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { parseOrThrow } from '../validation.ts';

/**
 * The operator console (`console/`, built into `console/dist` by `npm ci`) at `/console`, same
 * origin as the JSON API it talks to. Hashed assets are cached for good; the page itself never,
 * so a new build is picked up at once. The policy allows no inline script or style and no other
 * origin: the console works with no network beyond this server.
 */
export const CONSOLE_DIST = path.resolve(import.meta.dirname, '../../console/dist');
export const CONSOLE_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
const IMMUTABLE = 'public, max-age=31536000, immutable';
const pageParams = z.object({ '*': z.string().max(2048) });

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

interface Asset {
  body: Buffer;
  type: string;
  immutable: boolean;
}

/** Every file of the build, read once: the console is a few hundred kilobytes. */
function loadDist(dist: string): Map<string, Asset> | undefined {
  if (!fs.existsSync(path.join(dist, 'index.html'))) return undefined;
  const files = new Map<string, Asset>();
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else {
        const rel = path.relative(dist, file).split(path.sep).join('/');
        files.set(rel, { body: fs.readFileSync(file), type: TYPES[path.extname(file)] ?? 'application/octet-stream', immutable: rel.startsWith('assets/') });
      }
    }
  };
  walk(dist);
  return files;
}

const MISSING = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Mandate console not built</title></head>
<body><h1>The console is not built</h1>
<p>This server has no console build (console/dist). Run <code>npm run build:console</code> in the Mandate checkout, then reload.</p>
</body></html>
`;

export function consoleRoutes(app: FastifyInstance, options: { dist?: string } = {}) {
  const files = loadDist(options.dist ?? CONSOLE_DIST);
  const secure = (reply: FastifyReply) =>
    reply.header('content-security-policy', CONSOLE_CSP).header('x-frame-options', 'DENY').header('referrer-policy', 'no-referrer').header('cross-origin-opener-policy', 'same-origin');

  app.get('/', async (_request, reply) => reply.redirect('/console/', 302));
  app.get('/console', async (_request, reply) => reply.redirect('/console/', 301));
  app.get('/console/*', async (request, reply) => {
    secure(reply);
    if (!files) return reply.status(503).header('cache-control', 'no-store').type(TYPES['.html']!).send(MISSING);
    const wanted = parseOrThrow(pageParams, request.params, 'path')['*'];
    const asset = files.get(wanted);
    if (asset && wanted !== 'index.html') {
      return reply.header('cache-control', asset.immutable ? IMMUTABLE : 'no-cache').type(asset.type).send(asset.body);
    }
    // An asset that is not there is a 404, not the page: a stale page asking for an old hash must fail visibly.
    if (wanted.startsWith('assets/')) return reply.status(404).header('cache-control', 'no-store').type('text/plain; charset=utf-8').send('not found');
    // Every other path is a page of the single-page app.
    return reply.header('cache-control', 'no-store').type(TYPES['.html']!).send(files.get('index.html')!.body);
  });
}
