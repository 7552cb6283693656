import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { queryEvents } from '../../audit/log-store.ts';
import { ALERT_RULES, ruleName } from '../../alerts/config.ts';
import { parseOrThrow } from '../../validation.ts';
import type { ServerContext } from '../context.ts';

const listQuery = z.strictObject({
  rule: z.enum(ALERT_RULES.map((r) => ruleName[r]) as [string, ...string[]]).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  cursor: z.string().min(1).max(200).optional(),
});

/**
 * Alerts: the rules in force (`<data dir>/alerts.yaml` over the defaults) and the alerts raised,
 * newest first, read from the trail (`alert.raised` events on the system chain).
 */
export function alertRoutes(app: FastifyInstance, ctx: ServerContext) {
  app.get('/v1/alerts', async (request) => {
    const query = parseOrThrow(listQuery, request.query, 'query');
    const page = await queryEvents(ctx.store.db, { type: 'alert.raised', ...(query.rule ? { action: `alert:${query.rule}` } : {}) }, { limit: query.limit, cursor: query.cursor, order: 'desc' });
    return {
      alerts: page.events.map(({ event }) => ({
        id: event.id,
        time: event.time,
        rule: event.data?.rule ?? null,
        severity: event.data?.severity ?? null,
        subject: event.resource ?? null,
        message: event.reasons?.message ?? '',
        agent: event.actor.agent ?? null,
        cause: event.data?.resources?.[0] ?? null,
      })),
      next_cursor: page.next_cursor,
    };
  });

  app.get('/v1/alerts/rules', async () => ({ rules: ctx.alerts?.config ?? null }));
}
