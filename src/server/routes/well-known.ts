import type { FastifyInstance } from 'fastify';
import { publishedKeys } from '../../identity/signing-keys.ts';
import type { ServerContext } from '../context.ts';

/** RFC 7517 JWK Set of the control plane's signing keys, current and not-yet-expired retired ones. */
export function wellKnownRoutes(app: FastifyInstance, ctx: ServerContext) {
  app.get('/.well-known/jwks.json', async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=60');
    return { keys: await publishedKeys(ctx.store.db, ctx.now()) };
  });
}
