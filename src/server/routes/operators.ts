import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { MandateError } from '../../errors.ts';
import { formatGrant, grantsOf, notCovered, type RoleGrant, roleGrantSchema } from '../../people/roles.ts';
import { durationSeconds } from '../../registry/duration.ts';
import {
  deleteOperator,
  findOperator,
  findOperatorToken,
  insertOperator,
  listOperators,
  listOperatorTokens,
  liveOperatorTokens,
  type OperatorRecord,
  type OperatorTokenRecord,
  revokeOperatorToken,
  revokeTokensOf,
} from '../../store/operators.ts';
import type { Queryable } from '../../store/store.ts';
import { checkIdentifier, parseOrThrow } from '../../validation.ts';
import { type AdminPrincipal, createAdminToken, TOKEN_ID } from '../admin-tokens.ts';
import type { ServerContext } from '../context.ts';

const subject = z.string().min(1).max(200).refine((s) => { checkIdentifier(s, 'subject'); return true; });
const grants = z.array(roleGrantSchema).min(1).max(10);
const operatorBody = z.strictObject({ subject, email: z.email().max(320), name: z.string().min(1).max(200), roles: grants });
const subjectParams = z.object({ subject: z.string().min(1).max(200) });
const tokenBody = z.strictObject({
  roles: grants.optional(),
  ttl: durationSeconds.pipe(z.number().int().min(60).max(365 * 86_400)).default(30 * 86_400),
  for: z.string().min(1).max(320).optional(),
  name: z.string().min(1).max(200).refine((s) => { checkIdentifier(s, 'name'); return true; }).optional(),
});
const tokenParams = z.object({ id: z.string().regex(TOKEN_ID, 'not a token id') });

const notHeld = (who: string, grant: RoleGrant) =>
  new MandateError('ERR_ROLE_NOT_HELD', `${who} not hold ${formatGrant(grant)}; nobody grants a role they do not hold`);
const isAdmin = (caller: AdminPrincipal) => caller.grants.some((g) => g.role === 'admin' && g.environment === undefined);

/**
 * Operators (persons with roles) and their API tokens. Nobody grants a role they do not hold: an
 * operator's roles and a token's roles are each within the caller's, and a token's within its
 * operator's. Only an admin makes tokens for someone else; everyone else makes and revokes their own.
 */
export function operatorRoutes(app: FastifyInstance, ctx: ServerContext) {
  app.get('/v1/operators', async () => ({ operators: await listOperators(ctx.store.db) }));

  app.get('/v1/operators/:subject', async (request) => {
    const { subject: who } = parseOrThrow(subjectParams, request.params, 'path');
    return operatorOf(ctx.store.db, who);
  });

  app.post('/v1/operators', async (request, reply) => {
    const body = parseOrThrow(operatorBody, request.body ?? null, 'operator');
    const missing = notCovered(request.admin!.grants, body.roles);
    if (missing) throw notHeld('you do', missing);
    const operator = await ctx.store.transaction(async (trx) => {
      for (const name of [body.subject, body.email]) {
        if (await findOperator(trx, name)) throw new MandateError('ERR_OPERATOR_EXISTS', `an operator named ${name} exists already`);
      }
      const record: OperatorRecord = { ...body, roles: body.roles.map(formatGrant), created_at: ctx.now().toISOString(), created_by: request.admin!.person };
      await insertOperator(trx, record);
      return record;
    });
    reply.status(201).header('location', `/v1/operators/${encodeURIComponent(operator.subject)}`);
    return operator;
  });

  app.delete('/v1/operators/:subject', async (request) => {
    const { subject: who } = parseOrThrow(subjectParams, request.params, 'path');
    const now = ctx.now();
    return ctx.store.transaction(async (trx) => {
      const operator = await operatorOf(trx, who);
      if (operator.subject !== who) throw new MandateError('ERR_OPERATOR_NOT_FOUND', `no operator has the subject ${who}`);
      const missing = notCovered(request.admin!.grants, grantsOf(operator.roles));
      if (missing) throw notHeld('you do', missing);
      const revoked = await revokeTokensOf(trx, operator.subject, now);
      await deleteOperator(trx, operator.subject);
      await keepAnAdmin(trx, now);
      return { subject: operator.subject, removed: true, revoked_tokens: revoked };
    });
  });

  app.get('/v1/tokens', async (request) => {
    const caller = request.admin!;
    const all = isAdmin(caller) || caller.grants.some((g) => g.role === 'auditor' && g.environment === undefined);
    const tokens = await listOperatorTokens(ctx.store.db);
    return { tokens: tokens.filter((t) => all || owns(caller, t)).map((t) => tokenView(t, ctx.now())) };
  });

  app.post('/v1/tokens', async (request, reply) => {
    const body = parseOrThrow(tokenBody, request.body ?? {}, 'token request');
    const caller = request.admin!;
    const now = ctx.now();
    const operator = body.for !== undefined ? await operatorOf(ctx.store.db, body.for) : caller.operator ? await findOperator(ctx.store.db, caller.operator.subject) : undefined;
    if (operator && operator.subject !== caller.operator?.subject && !caller.grants.some((g) => g.role === 'admin')) {
      throw new MandateError('ERR_TOKEN_FOR_OTHER', `only an admin creates tokens for ${operator.subject}`);
    }
    const wanted = body.roles ?? (operator ? grantsOf(operator.roles) : caller.grants);
    const beyondCaller = notCovered(caller.grants, wanted);
    if (beyondCaller) throw notHeld('you do', beyondCaller);
    const beyondOperator = operator && notCovered(grantsOf(operator.roles), wanted);
    if (operator && beyondOperator) throw notHeld(`${operator.subject} does`, beyondOperator);
    const expiresAt = new Date(now.getTime() + body.ttl * 1000);
    if (!isAdmin(caller) && caller.expiresAt !== null && expiresAt.toISOString() > caller.expiresAt) {
      throw new MandateError('ERR_TOKEN_OUTLIVES_CALLER', `the token would outlive yours (${caller.expiresAt}); ask for a shorter --ttl`);
    }
    const name = body.name ?? operator?.subject ?? `token by ${caller.person}`;
    const { id, token } = await createAdminToken(ctx.store.db, { name, grants: wanted, operator: operator?.subject ?? null, expiresAt, createdBy: caller.person, now });
    reply.status(201);
    return { id, token, name, operator: operator?.subject ?? null, roles: wanted.map(formatGrant), created_at: now.toISOString(), expires_at: expiresAt.toISOString() };
  });

  app.delete('/v1/tokens/:id', async (request) => {
    const { id } = parseOrThrow(tokenParams, request.params, 'path');
    const caller = request.admin!;
    const now = ctx.now();
    return ctx.store.transaction(async (trx) => {
      const token = await findOperatorToken(trx, id);
      const mayRevoke = token && (owns(caller, token) || (caller.grants.some((g) => g.role === 'admin') && !notCovered(caller.grants, grantsOf(token.roles))));
      if (!token || !mayRevoke) throw new MandateError('ERR_ADMIN_TOKEN_NOT_FOUND', `no token ${id} you may revoke`);
      await revokeOperatorToken(trx, id, now);
      await keepAnAdmin(trx, now);
      return tokenView((await findOperatorToken(trx, id))!, now);
    });
  });
}

/** The caller's own tokens: those of their operator, or the very token they present. */
const owns = (caller: AdminPrincipal, token: OperatorTokenRecord) =>
  token.id === caller.tokenId || (caller.operator !== null && token.operator === caller.operator.subject);

async function operatorOf(db: Queryable, who: string): Promise<OperatorRecord> {
  const operator = await findOperator(db, who);
  if (!operator) throw new MandateError('ERR_OPERATOR_NOT_FOUND', `no operator has the subject or email ${who}`);
  return operator;
}

/** Refuses (and so rolls back) a change that leaves no live token with the unscoped admin role. */
async function keepAnAdmin(db: Queryable, now: Date) {
  const live = await liveOperatorTokens(db, now);
  const operators = new Set((await listOperators(db)).map((o) => o.subject));
  const admin = live.some((t) => (t.operator === null || operators.has(t.operator)) && grantsOf(t.roles).some((g) => g.role === 'admin' && g.environment === undefined));
  if (!admin) throw new MandateError('ERR_LAST_ADMIN', 'this would leave no live token with the admin role; create another admin token first');
}

function tokenView(token: OperatorTokenRecord, now: Date) {
  const { secret_hash: _hash, ...view } = token;
  const status = token.revoked_at !== null ? 'revoked' : token.expires_at !== null && token.expires_at <= now.toISOString() ? 'expired' : 'active';
  return { ...view, status };
}
