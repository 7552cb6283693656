import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { deriveCheckpointKey } from '../../audit/checkpoint-key.ts';
import { agentTargets } from '../../store/targets.ts';
import { certifyItem, trimItem } from '../../lifecycle/review-decisions.ts';
import { campaignReport, closeCampaign, remindOwners, reviewTick } from '../../lifecycle/review-due.ts';
import { campaignSpecSchema, getCampaign, listCampaigns, type ReviewDeps, startCampaign, trimSchema } from '../../lifecycle/reviews.ts';
import { parseOrThrow } from '../../validation.ts';
import { sees } from '../access.ts';
import type { ServerContext } from '../context.ts';

const campaignParams = z.object({ id: z.string().min(1).max(64) });
const itemParams = z.object({ campaign: z.string().min(1).max(64), id: z.string().min(1).max(64) });
const listQuery = z.strictObject({ status: z.enum(['open', 'closing', 'closed']).optional() });
const noteBody = z.strictObject({ note: z.string().max(2000).optional() }).nullish();

/** Access reviews (issue 18): campaigns, owners' decisions, the due-date check and the signed report. */
export function reviewRoutes(app: FastifyInstance, ctx: ServerContext) {
  const deps: ReviewDeps = {
    store: ctx.store,
    audit: ctx.audit,
    changes: ctx.changes,
    now: ctx.now,
    trustDomain: ctx.trustDomain,
    checkpointKey: deriveCheckpointKey(ctx.masterKey.bytes, ctx.trustDomain),
  };
  const by = (request: { admin?: { person: string | null } | undefined }) => request.admin?.person ?? null;

  app.get('/v1/reviews', async (request) => ({ campaigns: await listCampaigns(deps, parseOrThrow(listQuery, request.query, 'query').status) }));

  app.post('/v1/reviews', async (request, reply) => {
    const spec = parseOrThrow(campaignSpecSchema, request.body ?? {}, 'review campaign');
    const campaign = await startCampaign(deps, spec, by(request));
    reply.status(201).header('location', `/v1/reviews/${campaign.id}`);
    return campaign;
  });

  // Owners and environment-scoped operators see the items of the agents they may see.
  app.get('/v1/reviews/:id', async (request) => {
    const campaign = await getCampaign(deps, parseOrThrow(campaignParams, request.params, 'path').id);
    const targets = await agentTargets(ctx.store.db);
    return { ...campaign, items: (campaign.items ?? []).filter((item) => sees(request.admin!, 'GET /v1/reviews/:id', targets.get(item.agent))) };
  });

  app.post('/v1/reviews/:campaign/items/:id/certify', async (request) => {
    const { campaign, id } = parseOrThrow(itemParams, request.params, 'path');
    return certifyItem(deps, campaign, id, by(request), parseOrThrow(noteBody, request.body, 'body')?.note);
  });

  app.post('/v1/reviews/:campaign/items/:id/trim', async (request) => {
    const { campaign, id } = parseOrThrow(itemParams, request.params, 'path');
    return trimItem(deps, campaign, id, parseOrThrow(trimSchema, request.body ?? {}, 'trim'), by(request));
  });

  app.post('/v1/reviews/:id/remind', async (request) => ({ reminded: await remindOwners(deps, 0, parseOrThrow(campaignParams, request.params, 'path').id) }));

  app.post('/v1/reviews/:id/close', async (request) => closeCampaign(deps, parseOrThrow(campaignParams, request.params, 'path').id, by(request)));

  app.get('/v1/reviews/:id/report', async (request) => campaignReport(deps, parseOrThrow(campaignParams, request.params, 'path').id));

  // The periodic check: reminders and the due-date action, on every replica (closing is compare-and-set).
  const every = ctx.config.reviewCheckInterval;
  if (every > 0) {
    let timer: NodeJS.Timeout | undefined;
    let running: Promise<unknown> | undefined;
    const tick = () => {
      running = reviewTick(deps, ctx.config.reviewRemindEvery)
        .catch((error: Error) => ctx.logger.warn({ err: error.message }, 'the access review check failed; it runs again'))
        .finally(() => (timer = setTimeout(tick, every * 1000).unref()));
    };
    app.addHook('onReady', async () => {
      timer = setTimeout(tick, every * 1000).unref();
    });
    app.addHook('onClose', async () => {
      clearTimeout(timer);
      await running;
      clearTimeout(timer);
    });
  }
}
