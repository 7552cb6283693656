import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { addPeer, getPeer, listPeers, parsePeerSpec, removePeer } from '../../a2a/peer-spec.ts';
import { parseOrThrow } from '../../validation.ts';
import type { ServerContext } from '../context.ts';

const nameParams = z.object({ name: z.string().min(1).max(300) });

/** A2A peers: agents Mandate fronts at `/a2a/<name>`, each with its card and the agent it runs as. */
export function a2aAdminRoutes(app: FastifyInstance, ctx: ServerContext) {
  app.get('/v1/peers', async () => ({ peers: await listPeers(ctx.store.db) }));

  app.post('/v1/peers', async (request, reply) => {
    const spec = await addPeer(ctx.store.db, parsePeerSpec(request.body), ctx.now());
    reply.status(201);
    return spec;
  });

  app.get('/v1/peers/:name', async (request) => {
    const { name } = parseOrThrow(nameParams, request.params, 'path');
    return getPeer(ctx.store.db, name);
  });

  app.put('/v1/peers/:name', async (request) => {
    const { name } = parseOrThrow(nameParams, request.params, 'path');
    return addPeer(ctx.store.db, parsePeerSpec({ ...(request.body as object), name }), ctx.now(), true);
  });

  app.delete('/v1/peers/:name', async (request, reply) => {
    const { name } = parseOrThrow(nameParams, request.params, 'path');
    await removePeer(ctx.store.db, name);
    return reply.status(204).send();
  });
}
