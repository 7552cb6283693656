import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { deleteSecret, listSecrets, setSecret } from '../../broker/secrets.ts';
import { approvePin, loadPins } from '../../gateway/pins.ts';
import { addServer, getServer, listServers, parseServerSpec, removeServer } from '../../gateway/server-spec.ts';
import { parseOrThrow } from '../../validation.ts';
import type { ServerContext } from '../context.ts';
import { adminActor } from '../access.ts';

const nameParams = z.object({ name: z.string().min(1).max(300) });
const secretBody = z.strictObject({ value: z.string().min(1).max(64 * 1024) });

/** Upstream MCP servers, their pinned tools, and the secret store (values go in, never out). */
export function gatewayAdminRoutes(app: FastifyInstance, ctx: ServerContext) {
  app.get('/v1/servers', async () => ({ servers: await listServers(ctx.store.db) }));

  app.post('/v1/servers', async (request, reply) => {
    const spec = await addServer(ctx.store.db, parseServerSpec(request.body), ctx.now());
    await ctx.changes.publish({ kind: 'server.changed', name: spec.name });
    reply.status(201);
    return spec;
  });

  app.put('/v1/servers/:name', async (request) => {
    const { name } = parseOrThrow(nameParams, request.params, 'path');
    const spec = parseServerSpec({ ...(request.body as object), name });
    await addServer(ctx.store.db, spec, ctx.now(), true);
    await ctx.changes.publish({ kind: 'server.changed', name });
    return spec;
  });

  app.get('/v1/servers/:name', async (request) => {
    const { name } = parseOrThrow(nameParams, request.params, 'path');
    const spec = await getServer(ctx.store.db, name);
    return { ...spec, pins: [...(await loadPins(ctx.store.db, name)).values()].map(({ tool, hash, status, definition, pending }) => ({ tool, hash, status, definition, pending })) };
  });

  app.delete('/v1/servers/:name', async (request, reply) => {
    const { name } = parseOrThrow(nameParams, request.params, 'path');
    await removeServer(ctx.store.db, name);
    await ctx.changes.publish({ kind: 'server.changed', name });
    return reply.status(204).send();
  });

  app.post('/v1/servers/:name/tools/:tool/approve', async (request) => {
    const { name, tool } = parseOrThrow(z.object({ name: z.string(), tool: z.string().max(128) }), request.params, 'path');
    const pin = await approvePin(ctx.store.db, name, tool, ctx.now());
    await ctx.changes.publish({ kind: 'pins.changed', server: name });
    await ctx.audit.append({
      chain: 'system',
      type: 'admin.tool_approved',
      actor: adminActor(request.admin),
      action: 'tool:approve',
      resource: `${name}/${tool}`,
      status: 'success',
      reasons: { message: `definition ${pin.hash}` },
    });
    return { server: name, tool, hash: pin.hash, status: pin.status };
  });

  app.get('/v1/secrets', async () => ({ secrets: await listSecrets(ctx.store.db) }));

  app.put('/v1/secrets/:name', async (request) => {
    const { name } = parseOrThrow(nameParams, request.params, 'path');
    const { value } = parseOrThrow(secretBody, request.body, 'secret');
    // Announced with the commit: every replica forgets the old sealed value before the next call.
    const meta = await ctx.changes.transaction(async (trx, emit) => {
      const stored = await setSecret(trx, ctx.masterKey, name, value, ctx.now());
      await emit({ kind: 'secret.changed', name });
      return stored;
    });
    await ctx.audit.append({
      chain: 'system',
      type: 'admin.secret_set',
      actor: adminActor(request.admin),
      action: 'secret:set',
      resource: name,
      status: 'success',
    });
    return meta;
  });

  app.delete('/v1/secrets/:name', async (request, reply) => {
    const { name } = parseOrThrow(nameParams, request.params, 'path');
    await ctx.changes.transaction(async (trx, emit) => {
      await deleteSecret(trx, name);
      await emit({ kind: 'secret.changed', name });
    });
    return reply.status(204).send();
  });
}
