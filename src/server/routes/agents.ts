import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { agentStatuses, environments } from '../../registry/agent-card.ts';
import {
  applyAgents,
  changeAgentStatus,
  getAgent,
  type LifecycleAction,
  listAgents,
  parseAgentCard,
  registerAgent,
} from '../../registry/agents.ts';
import { listInstances } from '../../identity/instances.ts';
import { mandatesRevoked } from '../../cluster/changes.ts';
import { revokeAgentMandates } from '../../tokens/revocation.ts';
import { parseOrThrow } from '../../validation.ts';
import { sees } from '../access.ts';
import type { ServerContext } from '../context.ts';

const listQuery = z.strictObject({
  status: z.enum(agentStatuses).optional(),
  owner: z.string().optional(),
  environment: z.enum(environments).optional(),
});

const idParams = z.object({ id: z.string().min(1).max(64) });

/** `agents:` list (YAML/JSON document) or a bare array of cards. */
const applyBody = z.union([
  z.strictObject({ agents: z.array(z.unknown()).max(1000) }),
  z.array(z.unknown()).max(1000),
]);

export function agentRoutes(app: FastifyInstance, ctx: ServerContext) {
  app.get('/v1/agents', async (request) => {
    const filter = parseOrThrow(listQuery, request.query, 'query');
    const agents = await listAgents(ctx.store.db, filter);
    return { agents: agents.filter((agent) => sees(request.admin!, 'GET /v1/agents', agent)) };
  });

  app.post('/v1/agents', async (request, reply) => {
    const spec = parseAgentCard(request.body);
    const agent = await ctx.store.transaction((trx) => registerAgent(trx, spec, ctx.now()));
    reply.status(201).header('location', `/v1/agents/${agent.id}`);
    return agent;
  });

  app.put('/v1/agents', async (request) => {
    const body = parseOrThrow(applyBody, request.body ?? null, 'apply document');
    const items = Array.isArray(body) ? body : body.agents;
    const specs = items.map((item, i) => parseAgentCard(item, `agents[${i}]`));
    const results = await applyAgents(ctx.store, specs, ctx.now());
    for (const spec of specs) await ctx.changes.publish({ kind: 'agent.changed', id: spec.id });
    return { results };
  });

  app.get('/v1/agents/:id', async (request) => {
    const { id } = parseOrThrow(idParams, request.params, 'path');
    return getAgent(ctx.store.db, id);
  });

  for (const action of ['suspend', 'resume', 'retire'] as const satisfies LifecycleAction[]) {
    app.post(`/v1/agents/:id/${action}`, async (request) => {
      const { id } = parseOrThrow(idParams, request.params, 'path');
      const now = ctx.now();
      const { agent, revoked } = await ctx.changes.transaction(async (trx, emit) => {
        const changed = await changeAgentStatus(trx, id, action, now);
        // Suspension and retirement end every mandate at once; retirement ends the instances too.
        const ended = action === 'resume' ? [] : await revokeAgentMandates(trx, id, now, action === 'retire');
        await emit({ kind: 'agent.changed', id });
        if (ended.length > 0) await emit(mandatesRevoked(ended));
        return { agent: changed, revoked: ended };
      });
      await ctx.audit.append({
        chain: 'system',
        type: `lifecycle.${action === 'resume' ? 'resumed' : action === 'suspend' ? 'suspended' : 'retired'}`,
        actor: { instance: null, agent: id, person: null, delegation: [] },
        action: `agent:${action}`,
        resource: id,
        status: 'success',
        data: { resources: revoked },
        reasons: { message: `by ${request.admin?.person ?? 'admin'}` },
      });
      if (action === 'retire') {
        // A retired agent's instances are deprovisioned: each chain ends with its seal.
        const ended = (await listInstances(ctx.store.db, { agentId: id })).filter((i) => i.revoked_at === now.toISOString());
        for (const instance of ended) await ctx.audit.sealChain(`instance:${instance.id}`, { agent: id });
      }
      return agent;
    });
  }
}
