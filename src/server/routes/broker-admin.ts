import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Broker } from '../../broker/broker.ts';
import { addConnection, getConnection, listConnections, parseConnectionSpec, removeConnection } from '../../broker/connection-spec.ts';
import { databaseRolesRepository } from '../../store/repositories/database-roles.ts';
import { parseOrThrow } from '../../validation.ts';
import type { ServerContext } from '../context.ts';
import { adminActor } from '../access.ts';

const nameParams = z.object({ name: z.string().min(1).max(64) });

/** The broker's connections (HTTP APIs and databases) and the sweep of ended mandates' database roles. */
export function brokerAdminRoutes(app: FastifyInstance, ctx: ServerContext, broker: Broker) {
  const audit = (request: FastifyRequest, type: string, resource: string) =>
    ctx.audit.append({
      chain: 'system',
      type,
      actor: adminActor(request.admin),
      action: type.replace('admin.', ''),
      resource,
      status: 'success',
    });

  app.get('/v1/connections', async () => ({ connections: await listConnections(ctx.store.db) }));

  app.post('/v1/connections', async (request, reply) => {
    // A name refused earlier (no such connection) may be cached as absent: announce the addition too.
    const spec = await ctx.changes.transaction(async (trx, emit) => {
      const added = await addConnection(trx, parseConnectionSpec(request.body), ctx.now());
      await emit({ kind: 'connection.changed', name: added.name });
      return added;
    });
    await audit(request, 'admin.connection_added', spec.name);
    reply.status(201);
    return spec;
  });

  app.put('/v1/connections/:name', async (request) => {
    const { name } = parseOrThrow(nameParams, request.params, 'path');
    const spec = parseConnectionSpec({ ...(request.body as object), name });
    // Roles created under the old grant template go first; the next call makes new ones.
    await broker.forget(name);
    await ctx.changes.transaction(async (trx, emit) => {
      await addConnection(trx, spec, ctx.now(), true);
      await emit({ kind: 'connection.changed', name });
    });
    await audit(request, 'admin.connection_updated', name);
    return spec;
  });

  app.get('/v1/connections/:name', async (request) => {
    const { name } = parseOrThrow(nameParams, request.params, 'path');
    const spec = await getConnection(ctx.store.db, name);
    if (spec.type !== 'postgres') return spec;
    const roles = (await databaseRolesRepository(ctx.store.db).list(name)).map(({ role, status, expires_at }) => ({ role, status, expires_at }));
    return { ...spec, roles };
  });

  app.delete('/v1/connections/:name', async (request, reply) => {
    const { name } = parseOrThrow(nameParams, request.params, 'path');
    await getConnection(ctx.store.db, name);
    await broker.forget(name);
    await ctx.changes.transaction(async (trx, emit) => {
      await removeConnection(trx, name);
      await emit({ kind: 'connection.changed', name });
    });
    await audit(request, 'admin.connection_removed', name);
    return reply.status(204).send();
  });

  app.post('/v1/broker/sweep', async () => ({ dropped: await broker.databases.sweep() }));
}
