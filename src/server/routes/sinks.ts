import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { SinkDelivery } from '../../notify/delivery.ts';
import { sinkSpecSchema } from '../../notify/sink-spec.ts';
import { addSink, allSinks, getSink, pauseSink, removeSink } from '../../notify/sinks.ts';
import { parseOrThrow } from '../../validation.ts';
import type { ServerContext } from '../context.ts';

const nameParams = z.object({ name: z.string().min(1).max(64) });

/** Notification sinks (signed webhooks), and the loop that delivers to them while the server runs. */
export function sinkRoutes(app: FastifyInstance, ctx: ServerContext) {
  const db = ctx.store.db;
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
