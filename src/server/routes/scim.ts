// RFC 7644 — SCIM 2.0 protocol: the /scim/v2/Users endpoint an enterprise IdP (Okta, Entra ID)
// provisions persons through, and the admin routes around it.
import crypto from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { SYSTEM_CHAIN } from '../../audit/writer.ts';
import { isMandateError, MandateError } from '../../errors.ts';
import { jsonTooDeep, nestsTooDeep } from '../../json-depth.ts';
import type { LifecycleDeps } from '../../lifecycle/deps.ts';
import { findLeaver, hasUnflaggedAgents, type OffboardPolicy, leaverOfPerson, offboard } from '../../lifecycle/owners.ts';
import {
  applyPatch,
  columnsOf,
  etagOf,
  LIST_SCHEMA,
  parseFilter,
  parseUser,
  SCIM_CONTENT_TYPE,
  SCIM_TYPES,
  scimErrorBody,
  type UserResource,
  userOf,
} from '../../people/scim.ts';
import { type PersonRow, personsRepository, scimTokenDigest, setScimTokenDigest } from '../../store/repositories/persons.ts';
import { isUniqueViolation } from '../../store/errors.ts';
import { parseOrThrow } from '../../validation.ts';
import { bearerToken } from '../access.ts';
import type { ServerContext } from '../context.ts';
import { toProblem } from '../problem.ts';

const sha256 = (text: string) => crypto.createHash('sha256').update(text).digest();
const idParams = z.object({ id: z.string().min(1).max(320) });
const listQuery = z.looseObject({
  filter: z.string().max(1024).optional(),
  startIndex: z.coerce.number().int().catch(1).optional(),
  count: z.coerce.number().int().catch(100).optional(),
});
const offboardBody = z.strictObject({ reassign_to: z.string().trim().min(1).max(320).optional() });

export const offboardPolicy = (ctx: ServerContext): OffboardPolicy => ({ reassign: ctx.config.offboardReassign, sponsor: ctx.config.offboardSponsor, graceSeconds: ctx.config.offboardGrace });
const lifecycleDeps = (ctx: ServerContext): LifecycleDeps => ({ store: ctx.store, changes: ctx.changes, audit: ctx.audit, now: ctx.now });

/** SCIM answers: `application/scim+json`, errors as RFC 7644 §3.12 bodies. */
function sendScim(reply: FastifyReply, status: number, body: unknown) {
  return reply.status(status).type(SCIM_CONTENT_TYPE).send(body);
}

export function scimRoutes(app: FastifyInstance, ctx: ServerContext) {
  const deps = lifecycleDeps(ctx);
  const base = () => ctx.issuer;
  const persons = () => personsRepository(ctx.store.db);

  void app.register(
    async (scim) => {
      const parse = scim.getDefaultJsonParser('error', 'error');
      scim.addContentTypeParser(SCIM_CONTENT_TYPE, { parseAs: 'string' }, (request, body, done) => {
        if (nestsTooDeep(body as string)) return done(jsonTooDeep(), undefined);
        return parse(request, body as string, done);
      });
      scim.setErrorHandler((error, request, reply) => {
        const problem = toProblem(error);
        if (problem.status >= 500) request.log.error({ err: error }, 'SCIM request failed');
        const scimType = isMandateError(error) ? SCIM_TYPES[error.code] : problem.code === 'ERR_MALFORMED_JSON' ? 'invalidSyntax' : undefined;
        if (problem.status === 401) reply.header('www-authenticate', 'Bearer realm="scim"');
        return sendScim(reply, problem.status, scimErrorBody(problem.status, problem.detail, scimType));
      });
      scim.addHook('onRequest', async (request, reply) => authenticateScim(ctx, request, reply));
      // Groups, Bulk, /Me and the rest are not offered: a SCIM 404, so an IdP reads it as such.
      scim.setNotFoundHandler((request, reply) => sendScim(reply, 404, scimErrorBody(404, `no SCIM resource at ${request.method} ${request.url.split('?')[0]}`)));

      // RFC 7643 §5: what this service provider supports, for IdPs that ask before provisioning.
      scim.get('/ServiceProviderConfig', async (_request, reply) =>
        sendScim(reply, 200, {
          schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
          patch: { supported: true },
          bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
          filter: { supported: true, maxResults: 200 },
          changePassword: { supported: false },
          sort: { supported: false },
          etag: { supported: false },
          authenticationSchemes: [{ type: 'oauthbearertoken', name: 'Bearer token', description: 'The SCIM token from mandate scim token', primary: true }],
          meta: { resourceType: 'ServiceProviderConfig', location: `${base()}/scim/v2/ServiceProviderConfig` },
        }),
      );

      scim.post('/Users', async (request, reply) => {
        const resource = parseUser(request.body);
        const now = ctx.now().toISOString();
        const row: PersonRow = { id: crypto.randomUUID(), ...columnsOf(resource), version: 1, created_at: now, updated_at: now, left_at: resource.active === false ? now : null };
        if (await persons().findByUserName(row.user_name)) throw uniqueness(row.user_name);
        try {
          await persons().insert(row);
        } catch (error) {
          if (isUniqueViolation(error)) throw uniqueness(row.user_name);
          throw error;
        }
        await recordScim(ctx, 'lifecycle.person_provisioned', row);
        reply.header('location', `${base()}/scim/v2/Users/${row.id}`).header('etag', etagOf(row));
        return sendScim(reply, 201, userOf(row, base()));
      });

      scim.get('/Users', async (request, reply) => {
        const query = parseOrThrow(listQuery, request.query, 'query');
        const filter = parseFilter(query.filter);
        const startIndex = Math.max(1, query.startIndex ?? 1);
        const count = Math.min(200, Math.max(0, query.count ?? 100));
        const where = filter?.attribute === 'externalId' ? { externalId: filter.value } : { userName: filter?.value };
        const [rows, total] = await Promise.all([count === 0 ? [] : persons().list({ ...where, offset: startIndex - 1, limit: count }), persons().count(where)]);
        return sendScim(reply, 200, { schemas: [LIST_SCHEMA], totalResults: total, startIndex, itemsPerPage: rows.length, Resources: rows.map((r) => userOf(r, base())) });
      });

      scim.get('/Users/:id', async (request, reply) => {
        const row = await personOf(ctx, parseOrThrow(idParams, request.params, 'path').id);
        reply.header('etag', etagOf(row));
        return sendScim(reply, 200, userOf(row, base()));
      });

      const change = async (request: FastifyRequest, reply: FastifyReply, next: (stored: UserResource) => UserResource) => {
        const { id } = parseOrThrow(idParams, request.params, 'path');
        const { before, after } = await rewrite(ctx, id, next);
        // Offboarded when deactivated, and again when an IdP retries after a run that failed half-way.
        if (after.active === 0 && (before.active === 1 || (await hasUnflaggedAgents(ctx.store.db, leaverOfPerson(after))))) {
          await offboard(deps, leaverOfPerson(after), offboardPolicy(ctx), 'scim');
        }
        reply.header('etag', etagOf(after));
        return sendScim(reply, 200, userOf(after, base()));
      };
      scim.put('/Users/:id', async (request, reply) => change(request, reply, () => parseUser(request.body)));
      scim.patch('/Users/:id', async (request, reply) => change(request, reply, (stored) => applyPatch(stored, request.body)));

      scim.delete('/Users/:id', async (request, reply) => {
        const row = await personOf(ctx, parseOrThrow(idParams, request.params, 'path').id);
        if (row.active === 1 || (await hasUnflaggedAgents(ctx.store.db, leaverOfPerson(row)))) await offboard(deps, leaverOfPerson(row), offboardPolicy(ctx), 'scim');
        await persons().remove(row.id);
        await recordScim(ctx, 'lifecycle.person_removed', row);
        return reply.status(204).send();
      });
    },
    { prefix: '/scim/v2' },
  );

  // The admin side: the SCIM token, the persons the IdP provisioned, and offboarding by hand.
  app.post('/v1/scim/token', async (request, reply) => {
    parseOrThrow(z.strictObject({}), request.body ?? {}, 'request');
    const token = `scim_${crypto.randomBytes(32).toString('base64url')}`;
    await setScimTokenDigest(ctx.store.db, sha256(token).toString('hex'));
    reply.status(201);
    return { token, url: `${base()}/scim/v2`, note: 'shown once: configure it as the bearer token of the SCIM app in your identity provider; creating another replaces it' };
  });

  app.get('/v1/persons', async () => {
    const rows = await persons().list({ offset: 0, limit: 10_000 });
    const names = new Map(rows.map((row) => [row.id, row.user_name]));
    return { persons: rows.map((row) => ({
      id: row.id,
      user_name: row.user_name,
      email: row.email,
      display_name: row.display_name,
      // The manager by userName when Mandate knows them, else the IdP's id as given.
      manager: row.manager === null ? null : (names.get(row.manager) ?? row.manager),
      active: row.active === 1,
      created_at: row.created_at,
      left_at: row.left_at,
    })) };
  });

  app.post('/v1/persons/:id/offboard', async (request) => {
    const { id } = parseOrThrow(idParams, request.params, 'path');
    const body = parseOrThrow(offboardBody, request.body ?? {}, 'offboard request');
    const leaver = await findLeaver(ctx.store.db, id);
    if (!leaver) throw new MandateError('ERR_PERSON_NOT_FOUND', `no person or operator is named ${id}`);
    const markLeft = leaver.kind === 'person' ? () => rewrite(ctx, leaver.id, (stored) => ({ ...stored, active: false })) : undefined;
    return offboard(deps, leaver, offboardPolicy(ctx), request.admin?.person ?? 'admin', { named: body.reassign_to, ...(markLeft ? { markLeft } : {}) });
  });
}

const uniqueness = (userName: string) => new MandateError('ERR_SCIM_UNIQUENESS', `a User with userName ${userName} exists already`);

async function personOf(ctx: ServerContext, id: string): Promise<PersonRow> {
  const row = await personsRepository(ctx.store.db).find(id);
  if (!row) throw new MandateError('ERR_SCIM_NOT_FOUND', `no User has the id ${id}`);
  return row;
}

/** Read, change and write back a person, compare-and-set on its version (retried when another write came first). */
async function rewrite(ctx: ServerContext, id: string, next: (stored: UserResource) => UserResource): Promise<{ before: PersonRow; after: PersonRow }> {
  const repo = personsRepository(ctx.store.db);
  for (let attempt = 0; attempt < 5; attempt++) {
    const before = await personOf(ctx, id);
    const resource = next(JSON.parse(before.resource) as UserResource);
    const columns = columnsOf(resource);
    if (columns.user_name !== before.user_name) {
      const holder = await repo.findByUserName(columns.user_name);
      if (holder && holder.id !== id) throw uniqueness(columns.user_name);
    }
    const now = ctx.now().toISOString();
    const leftAt = columns.active === 1 ? null : (before.left_at ?? now);
    let written: boolean;
    try {
      written = await repo.update(id, before.version, { ...columns, updated_at: now, left_at: leftAt });
    } catch (error) {
      if (isUniqueViolation(error)) throw uniqueness(columns.user_name);
      throw error;
    }
    if (written) {
      const after = { ...before, ...columns, updated_at: now, left_at: leftAt, version: before.version + 1 };
      await recordScim(ctx, 'lifecycle.person_updated', after, before.active === 1 && after.active === 0 ? 'deactivated' : undefined);
      return { before, after };
    }
  }
  throw new MandateError('ERR_SCIM_INVALID_VALUE', 'the User changes too often to be written; retry');
}

async function recordScim(ctx: ServerContext, type: 'lifecycle.person_provisioned' | 'lifecycle.person_updated' | 'lifecycle.person_removed', row: PersonRow, note?: string) {
  await ctx.audit.append({
    chain: SYSTEM_CHAIN,
    type,
    actor: { instance: null, agent: null, person: null, delegation: [], token: 'scim' },
    action: `scim:${type.slice('lifecycle.person_'.length)}`,
    resource: row.user_name,
    status: 'success',
    reasons: { message: `SCIM User ${row.id}${row.active === 1 ? ' active' : ' inactive'}${row.manager ? `, manager ${row.manager}` : ''}${note ? ` (${note})` : ''}` },
  });
}

/** The SCIM bearer token, against the stored digest, behind the same brute-force brake as admin tokens. */
async function authenticateScim(ctx: ServerContext, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const client = `scim:${request.ip}`;
  const wait = ctx.authFailures.retryAfter(client);
  if (wait > 0) {
    reply.header('retry-after', String(wait));
    throw new MandateError('ERR_TOO_MANY_FAILURES', `too many failed authentications from this address; retry in ${wait} s`);
  }
  const presented = bearerToken(request);
  const digest = await scimTokenDigest(ctx.store.db);
  const ok = presented !== undefined && digest !== undefined && crypto.timingSafeEqual(sha256(presented), Buffer.from(digest, 'hex'));
  if (!ok) {
    ctx.authFailures.failed(client);
    throw new MandateError('ERR_SCIM_UNAUTHENTICATED', digest === undefined ? 'no SCIM token is configured (mandate scim token)' : 'the SCIM bearer token is missing or wrong');
  }
}
