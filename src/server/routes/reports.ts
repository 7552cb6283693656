import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { hygieneReport } from '../../lifecycle/hygiene.ts';
import { HYGIENE_FORMATS, hygieneCsv, hygieneHtml } from '../../lifecycle/hygiene-render.ts';
import { parseOrThrow } from '../../validation.ts';
import type { ServerContext } from '../context.ts';

const hygieneQuery = z.strictObject({
  format: z.enum(HYGIENE_FORMATS).default('json'),
  stale_days: z.coerce.number().int().min(1).max(3650).optional(),
  max_key_age_days: z.coerce.number().int().min(1).max(3650).optional(),
});

/** Governance reports: the hygiene report as JSON, CSV or a self-contained HTML page. */
export function reportRoutes(app: FastifyInstance, ctx: ServerContext) {
  app.get('/v1/reports/hygiene', async (request, reply) => {
    const query = parseOrThrow(hygieneQuery, request.query, 'query');
    const report = await hygieneReport(ctx.store.db, ctx.now(), {
      staleDays: query.stale_days ?? ctx.config.hygieneStaleDays,
      maxKeyAgeDays: query.max_key_age_days ?? ctx.config.hygieneMaxKeyAge,
    });
    if (query.format === 'csv') return reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="mandate-hygiene.csv"').send(hygieneCsv(report));
    // The page is data only: no script runs in it, whatever a title or a name holds.
    if (query.format === 'html') return reply.type('text/html; charset=utf-8').header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'").send(hygieneHtml(report));
    return report;
  });
}
