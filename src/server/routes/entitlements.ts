import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { applyEntitlements, groupName, listEntitlements, removeEntitlement, setEntitlement } from '../../tokens/entitlements.ts';
import { parseOrThrow } from '../../validation.ts';
import type { ServerContext } from '../context.ts';

const groupParams = z.object({ group: groupName });
const itemsBody = z.strictObject({ items: z.array(z.string()).max(256) });

/**
 * Entitlements: group → scope items a person's agents may be granted. None configured means no
 * person limit; see `src/tokens/entitlements.ts`.
 */
export function entitlementRoutes(app: FastifyInstance, ctx: ServerContext) {
  const db = ctx.store.db;
  app.get('/v1/entitlements', async () => ({ configured: (await listEntitlements(db)).length > 0, entitlements: await listEntitlements(db) }));

  app.put('/v1/entitlements/:group', async (request) => {
    const { group } = parseOrThrow(groupParams, request.params, 'path');
    const { items } = parseOrThrow(itemsBody, request.body, 'entitlement');
    return setEntitlement(db, { group, items }, ctx.now());
  });

  app.delete('/v1/entitlements/:group', async (request, reply) => {
    await removeEntitlement(db, parseOrThrow(groupParams, request.params, 'path').group);
    return reply.status(204).send();
  });

  // The GitOps file: every group's entitlements replaced at once, or nothing changed.
  app.put('/v1/entitlements', async (request) => applyEntitlements(ctx.store, request.body, ctx.now()));
}
