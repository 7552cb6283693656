import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { approvalBacklog } from '../governance/approvals.ts';
import { domainRegistry } from '../telemetry/metrics.ts';
import type { ServerContext } from './context.ts';

/**
 * Prometheus text exposition at `/metrics`: request counts and latencies per route, process
 * metrics, the domain metrics made where the events happen (src/telemetry/metrics.ts), and
 * gauges read at scrape time (approval backlog, change-feed synchronization).
 */
export function registerMetrics(app: FastifyInstance, ctx: Pick<ServerContext, 'store' | 'now' | 'changes'>): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'mandate_' });
  for (const { name } of domainRegistry.getMetricsAsArray()) registry.registerMetric(domainRegistry.getSingleMetric(name)!);
  const requests = new Counter({
    name: 'mandate_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'mandate_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['method', 'route'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  // The registry collects in parallel: one read of the backlog per scrape serves both gauges.
  let reading: ReturnType<typeof approvalBacklog> | undefined;
  const backlog = () => {
    reading ??= approvalBacklog(ctx.store.db, ctx.now()).finally(() => {
      reading = undefined;
    });
    return reading;
  };
  new Gauge({
    name: 'mandate_approvals_pending',
    help: 'Approvals waiting for a person (unexpired)',
    registers: [registry],
    async collect() {
      this.set((await backlog().catch(() => ({ pending: 0 }))).pending);
    },
  });
  new Gauge({
    name: 'mandate_approval_oldest_pending_age_seconds',
    help: 'Age of the oldest approval still waiting for a person (0 when none)',
    registers: [registry],
    async collect() {
      this.set((await backlog().catch(() => ({ oldestSeconds: 0 }))).oldestSeconds);
    },
  });
  new Gauge({
    name: 'mandate_change_feed_synchronized',
    help: '1 while this replica follows every change, 0 while it is resynchronizing',
    registers: [registry],
    collect() {
      this.set(ctx.changes.synchronized ? 1 : 0);
    },
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    duration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
  app.get('/metrics', async (_request, reply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });
  return registry;
}
