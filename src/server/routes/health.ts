import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.ts';
import { problem, sendProblem } from '../problem.ts';

/**
 * Liveness says the process answers; readiness says it can serve: the store answers and the
 * replica is synchronized (it listens for every other replica's changes and has reloaded since it
 * last could not). A load balancer sends nothing to a replica that is not ready.
 */
export function healthRoutes(app: FastifyInstance, ctx: ServerContext) {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (request, reply) => {
    try {
      await ctx.store.ping();
    } catch (err) {
      request.log.warn({ err }, 'store not reachable');
      return sendProblem(reply, problem('ERR_STORE_UNAVAILABLE', 'store is not reachable'));
    }
    const sync = ctx.changes.status();
    if (!sync.synchronized) {
      return sendProblem(reply, problem('ERR_NOT_SYNCHRONIZED', `replica is not synchronized since ${sync.since}: ${sync.reason ?? 'resynchronizing'}`));
    }
    return { status: 'ready', store: ctx.store.dialect, synchronized: true, since: sync.since };
  });
}
