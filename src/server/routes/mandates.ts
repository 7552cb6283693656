import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { revokeAnnounced } from '../../cluster/revoke.ts';
import { MandateError } from '../../errors.ts';
import { budgetsRepository } from '../../store/repositories/budgets.ts';
import { mandatesRepository } from '../../store/repositories/mandates.ts';
import { revokeMandates } from '../../tokens/revocation.ts';
import { parseOrThrow } from '../../validation.ts';
import type { ServerContext } from '../context.ts';

const listQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(5000).default(1000) });
const jtiParams = z.object({ id: z.string().min(1).max(128) });

/**
 * Live mandates (issued, not revoked, not expired) with their parent, so a reader can draw the
 * delegation tree person → agent instance → sub-agents; and revocation of one mandate by id with
 * everything derived from it, announced to every replica like RFC 7009 revocation.
 */
export function mandateRoutes(app: FastifyInstance, ctx: ServerContext) {
  app.get('/v1/mandates', async (request) => {
    const { limit } = parseOrThrow(listQuery, request.query, 'query');
    const rows = await mandatesRepository(ctx.store.db).live(ctx.now().toISOString(), limit + 1);
    const shown = rows.slice(0, limit);
    const spent = await budgetsRepository(ctx.store.db).spent(shown.map((m) => m.jti));
    return {
      mandates: shown.map((m) => ({
        jti: m.jti,
        parent_jti: m.parent_jti,
        person: m.sub,
        agent_id: m.agent_id,
        instance_id: m.instance_id,
        scope: m.scope.split(' ').filter(Boolean),
        audience: m.aud,
        budget: m.budget,
        budget_left: Math.max(0, m.budget - (spent.get(m.jti) ?? 0)),
        depth: m.depth,
        task: m.task_id,
        issued_at: m.issued_at,
        expires_at: m.expires_at,
      })),
      truncated: rows.length > limit,
    };
  });

  app.post('/v1/mandates/:id/revoke', async (request) => {
    const { id } = parseOrThrow(jtiParams, request.params, 'path');
    const now = ctx.now();
    if (!(await mandatesRepository(ctx.store.db).find(id))) throw new MandateError('ERR_MANDATE_NOT_FOUND', `no mandate ${id}`);
    const revoked = await revokeAnnounced(ctx.store, ctx.changes, (trx) => revokeMandates(trx, [id], now));
    return { jti: id, revoked };
  });
}
