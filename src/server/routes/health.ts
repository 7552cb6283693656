import type { FastifyInstance } from 'fastify';
import { trailSinksRepository } from '../../store/repositories/trail-sinks.ts';
import type { ServerContext } from '../context.ts';
import { problem, sendProblem } from '../problem.ts';

/**
 * Liveness says the process answers; readiness says it can serve: the store answers and the
 * replica is synchronized (it listens for every other replica's changes and has reloaded since it
 * last could not). A load balancer sends nothing to a replica that is not ready. A trail sink that
 * is failing makes the answer `degraded` but still ready: enforcement does not wait for sinks, and
 * the trail keeps what they have not taken.
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
    const failing = (await trailSinksRepository(ctx.store.db).list().catch(() => []))
      .filter((sink) => !sink.paused_at && sink.failures > 0)
      .map((sink) => ({ trail_sink: sink.name, failures: sink.failures, last_error: sink.last_error, since: sink.last_error_at }));
    return { status: failing.length > 0 ? 'degraded' : 'ready', store: ctx.store.dialect, synchronized: true, since: sync.since, ...(failing.length > 0 ? { degraded: failing } : {}) };
  });
}
