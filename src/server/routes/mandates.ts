import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { revokeAnnounced } from '../../cluster/revoke.ts';
import { MandateError } from '../../errors.ts';
import { agentUsage, listMandates } from '../../lifecycle/inventory.ts';
import { mandatesRepository } from '../../store/repositories/mandates.ts';
import { revokeMandates } from '../../tokens/revocation.ts';
import { durationSeconds } from '../../registry/duration.ts';
import { agentTargets } from '../../store/targets.ts';
import { parseOrThrow } from '../../validation.ts';
import { sees } from '../access.ts';
import type { ServerContext } from '../context.ts';

const name = z.string().min(1).max(320);
const listQuery = z.strictObject({
  agent: name.optional(),
  instance: name.optional(),
  person: name.optional(),
  state: z.enum(['live', 'ended', 'all']).default('live'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().min(1).max(600).optional(),
});
const idParams = z.object({ id: z.string().min(1).max(64) });
const jtiParams = z.object({ id: z.string().min(1).max(128) });
const usageQuery = z.strictObject({ window: durationSeconds.pipe(z.number().int().min(60).max(366 * 86_400)).default(30 * 86_400) });

/** The inventory: mandates with their delegation tree and standing, and per agent what it used of what it was granted. */
export function mandateRoutes(app: FastifyInstance, ctx: ServerContext) {
  app.get('/v1/mandates', async (request) => {
    const query = parseOrThrow(listQuery, request.query, 'query');
    const page = await listMandates(ctx.store.db, query, ctx.now());
    const targets = await agentTargets(ctx.store.db);
    // A scoped grant or an owner sees the mandates of the agents it may see; the cursor still moves past the rest.
    return { ...page, mandates: page.mandates.filter((m) => sees(request.admin!, 'GET /v1/mandates', targets.get(m.agent))) };
  });

  app.get('/v1/agents/:id/usage', async (request) => {
    const { id } = parseOrThrow(idParams, request.params, 'path');
    const { window } = parseOrThrow(usageQuery, request.query, 'query');
    return agentUsage(ctx.store.db, id, window, ctx.now());
  });

  /** One mandate revoked by id with everything derived from it, announced to every replica like RFC 7009 revocation. */
  app.post('/v1/mandates/:id/revoke', async (request) => {
    const { id } = parseOrThrow(jtiParams, request.params, 'path');
    const now = ctx.now();
    if (!(await mandatesRepository(ctx.store.db).find(id))) throw new MandateError('ERR_MANDATE_NOT_FOUND', `no mandate ${id}`);
    const revoked = await revokeAnnounced(ctx.store, ctx.changes, (trx) => revokeMandates(trx, [id], now));
    return { jti: id, revoked };
  });
}
