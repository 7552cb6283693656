import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, type Registry } from 'prom-client';
import { z } from 'zod';
import { addTrailSink, allTrailSinks, getTrailSink, pauseTrailSink, removeTrailSink } from '../../stream/sinks.ts';
import { trailSinkSpecSchema } from '../../stream/spec.ts';
import { TrailStreamer } from '../../stream/streamer.ts';
import { parseOrThrow } from '../../validation.ts';
import { VERSION } from '../app.ts';
import type { ServerContext } from '../context.ts';

const nameParams = z.object({ name: z.string().min(1).max(64) });

/** Trail sinks (the trail streamed to SIEMs and log pipelines), and the loop that streams to them while the server runs. */
export function trailSinkRoutes(app: FastifyInstance, ctx: ServerContext, metrics: Registry) {
  const db = ctx.store.db;
  const counters = trailSinkMetrics(metrics, ctx);
  app.get('/v1/trail/sinks', async () => ({ sinks: await allTrailSinks(db, ctx.now()) }));

  app.post('/v1/trail/sinks', async (request, reply) => {
    const sink = await addTrailSink(db, ctx.masterKey, parseOrThrow(trailSinkSpecSchema, request.body, 'trail sink'), ctx.now());
    reply.status(201);
    return sink;
  });

  app.get('/v1/trail/sinks/:name', async (request) => getTrailSink(db, parseOrThrow(nameParams, request.params, 'path').name, ctx.now()));

  app.delete('/v1/trail/sinks/:name', async (request, reply) => {
    await removeTrailSink(db, parseOrThrow(nameParams, request.params, 'path').name);
    return reply.status(204).send();
  });

  for (const [verb, paused] of [['pause', true], ['resume', false]] as const) {
    app.post(`/v1/trail/sinks/:name/${verb}`, async (request) => pauseTrailSink(db, parseOrThrow(nameParams, request.params, 'path').name, paused, ctx.now()));
  }

  const streamer = new TrailStreamer({
    db,
    master: ctx.masterKey,
    logger: ctx.logger,
    now: ctx.now,
    productVersion: VERSION,
    onDelivered: (sink, events) => counters.delivered.inc({ sink }, events),
    onError: (sink) => counters.errors.inc({ sink }),
  });
  app.addHook('onReady', async () => streamer.start());
  app.addHook('onClose', async () => streamer.stop());
}

/**
 * Trail sink metrics. Lag is read from the store at scrape time (the same on every replica);
 * delivered events and failed attempts are counted by the replica that streamed them.
 */
function trailSinkMetrics(registry: Registry, ctx: ServerContext) {
  let reading: Promise<void> | undefined;
  const refresh = () =>
    (reading ??= allTrailSinks(ctx.store.db, ctx.now())
      .then((sinks) => {
        lagEvents.reset();
        lagSeconds.reset();
        for (const sink of sinks) {
          lagEvents.set({ sink: sink.name }, sink.lag.events);
          lagSeconds.set({ sink: sink.name }, sink.lag.seconds);
        }
      })
      .catch(() => {})
      .finally(() => (reading = undefined)));
  const lagEvents = new Gauge({ name: 'mandate_trail_sink_lag_events', help: 'Trail events a trail sink takes that wait to be delivered', labelNames: ['sink'], registers: [registry], collect: refresh });
  const lagSeconds = new Gauge({ name: 'mandate_trail_sink_lag_seconds', help: 'Age of the oldest trail event waiting for a trail sink', labelNames: ['sink'], registers: [registry], collect: refresh });
  return {
    delivered: new Counter({ name: 'mandate_trail_sink_delivered_total', help: 'Trail events sent to a trail sink by this replica (at least once: a resend counts again)', labelNames: ['sink'], registers: [registry] }),
    errors: new Counter({ name: 'mandate_trail_sink_errors_total', help: 'Failed delivery attempts to a trail sink by this replica', labelNames: ['sink'], registers: [registry] }),
  };
}
