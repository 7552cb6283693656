import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { type ReapPolicy, reap, scheduleReaper } from '../../lifecycle/reaper.ts';
import { agentFlagsRepository } from '../../store/repositories/agent-flags.ts';
import { agentTargets } from '../../store/targets.ts';
import { parseOrThrow } from '../../validation.ts';
import { sees } from '../access.ts';
import type { ServerContext } from '../context.ts';

const reapBody = z.strictObject({ dry_run: z.boolean().default(false) });
const flagsQuery = z.strictObject({ agent: z.string().min(1).max(64).optional(), flag: z.enum(['orphaned', 'stale']).optional() });

export const reapPolicy = (ctx: ServerContext): ReapPolicy => ({
  instanceIdleSeconds: ctx.config.reapInstanceIdle,
  agentUnusedDays: ctx.config.reapAgentUnusedDays,
  suspendUnused: ctx.config.reapSuspendUnused,
});

/** Clean-up on demand (and on a schedule when configured), and the lifecycle flags it and offboarding raise. */
export function reaperRoutes(app: FastifyInstance, ctx: ServerContext) {
  const deps = { store: ctx.store, changes: ctx.changes, audit: ctx.audit, now: ctx.now };

  app.post('/v1/lifecycle/reap', async (request) => {
    const body = parseOrThrow(reapBody, request.body ?? {}, 'reap request');
    return reap(deps, reapPolicy(ctx), { dryRun: body.dry_run });
  });

  app.get('/v1/lifecycle/flags', async (request) => {
    const query = parseOrThrow(flagsQuery, request.query, 'query');
    const flags = await agentFlagsRepository(ctx.store.db).list({ agentId: query.agent, flag: query.flag });
    const targets = await agentTargets(ctx.store.db);
    return { flags: flags.filter((f) => sees(request.admin!, 'GET /v1/lifecycle/flags', targets.get(f.agent_id))) };
  });

  const schedule = scheduleReaper(deps, reapPolicy(ctx), ctx.config.reapInterval, (error) => ctx.logger.error({ err: (error as Error).message }, 'lifecycle clean-up failed; the next run tries again'));
  app.addHook('onClose', () => schedule.stop());
}
