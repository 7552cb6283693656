import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.ts';
import { problem, sendProblem } from '../problem.ts';

/** Liveness says the process answers; readiness says it can serve (the store answers). */
export function healthRoutes(app: FastifyInstance, ctx: ServerContext) {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (request, reply) => {
    try {
      await ctx.store.ping();
      return { status: 'ready', store: ctx.store.dialect };
    } catch (err) {
      request.log.warn({ err }, 'store not reachable');
      return sendProblem(reply, problem(503, 'ERR_STORE_UNAVAILABLE', 'store is not reachable'));
    }
  });
}
