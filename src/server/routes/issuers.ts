import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { devIssuerOf } from '../../identity/person-tokens.ts';
import { fetchJson } from '../../net/fetch-json.ts';
import { addIssuer, allIssuers, getIssuer, issuerSpecSchema, issuerView, removeIssuer } from '../../people/issuers.ts';
import { parseOrThrow } from '../../validation.ts';
import type { ServerContext } from '../context.ts';

/** The issuer URL, percent-encoded into one path segment. */
const issuerParams = z.object({ issuer: z.string().min(1).max(400) });

/** OIDC issuers trusted for person tokens (subject tokens at the token endpoint). */
export function issuerRoutes(app: FastifyInstance, ctx: ServerContext) {
  const db = ctx.store.db;
  app.get('/v1/issuers', async () => ({ issuers: (await allIssuers(db)).map(issuerView) }));

  app.post('/v1/issuers', async (request, reply) => {
    const spec = parseOrThrow(issuerSpecSchema, request.body ?? null, 'issuer');
    const added = await addIssuer(db, { spec, ours: [ctx.issuer, devIssuerOf(ctx.issuer)], by: request.admin!.person, now: ctx.now(), fetch: fetchJson });
    reply.status(201);
    return issuerView(added);
  });

  app.get('/v1/issuers/:issuer', async (request) => issuerView(await getIssuer(db, parseOrThrow(issuerParams, request.params, 'path').issuer)));

  app.delete('/v1/issuers/:issuer', async (request, reply) => {
    await removeIssuer(db, parseOrThrow(issuerParams, request.params, 'path').issuer);
    return reply.status(204).send();
  });
}
