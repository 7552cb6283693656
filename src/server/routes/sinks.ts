import type { FastifyInstance } from 'fastify';
import { Gauge, type Registry } from 'prom-client';
import { z } from 'zod';
import { SinkDelivery } from '../../notify/delivery.ts';
import { sinkSpecSchema } from '../../notify/sink-spec.ts';
import { addSink, allSinks, getSink, pauseSink, removeSink } from '../../notify/sinks.ts';
import { parseOrThrow } from '../../validation.ts';
import type { ServerContext } from '../context.ts';

const nameParams = z.object({ name: z.string().min(1).max(64) });

/** Notification sinks (signed webhooks), and the loop that delivers to them while the server runs. */
export function sinkRoutes(app: FastifyInstance, ctx: ServerContext, metrics: Registry) {
  const db = ctx.store.db;
  sinkMetrics(metrics, ctx);
  app.get('/v1/sinks', async () => ({ sinks: await allSinks(db) }));

  app.post('/v1/sinks', async (request, reply) => {
    const sink = await addSink(db, ctx.masterKey, parseOrThrow(sinkSpecSchema, request.body, 'sink'), ctx.now());
    reply.status(201);
    return sink;
  });

  app.get('/v1/sinks/:name', async (request) => getSink(db, parseOrThrow(nameParams, request.params, 'path').name));

  app.delete('/v1/sinks/:name', async (request, reply) => {
    await removeSink(db, parseOrThrow(nameParams, request.params, 'path').name);
    return reply.status(204).send();
  });

  for (const [verb, paused] of [['pause', true], ['resume', false]] as const) {
    app.post(`/v1/sinks/:name/${verb}`, async (request) => pauseSink(db, parseOrThrow(nameParams, request.params, 'path').name, paused, ctx.now()));
  }

  const delivery = new SinkDelivery({ db, master: ctx.masterKey, logger: ctx.logger, now: ctx.now, baseUrl: () => ctx.issuer });
  app.addHook('onReady', async () => delivery.start());
  app.addHook('onClose', async () => delivery.stop());
}

/** Each sink's lag, failures and pause at scrape time, read from the store (the same on every replica). */
function sinkMetrics(registry: Registry, ctx: ServerContext) {
  // The registry collects metrics in parallel: one read of the sinks per scrape serves all three.
  let reading: Promise<void> | undefined;
  const refresh = () =>
    (reading ??= allSinks(ctx.store.db)
      .then((sinks) => {
        for (const g of gauges) g.reset();
        for (const sink of sinks) {
          lag.set({ sink: sink.name }, sink.lag.events);
          failures.set({ sink: sink.name }, sink.failures);
          paused.set({ sink: sink.name }, sink.status === 'paused' ? 1 : 0);
        }
      })
      .catch(() => {})
      .finally(() => (reading = undefined)));
  const gauge = (name: string, help: string) => new Gauge({ name, help, labelNames: ['sink'], registers: [registry], collect: refresh });
  const lag = gauge('mandate_sink_lag_events', 'Events of its types waiting for a notification sink');
  const failures = gauge('mandate_sink_failures', 'Failed deliveries to a notification sink since its last success');
  const paused = gauge('mandate_sink_paused', '1 when a notification sink is paused');
  const gauges = [lag, failures, paused];
}
