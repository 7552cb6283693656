import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { SYSTEM_CHAIN } from '../../audit/writer.ts';
import type { Config } from '../../config/schema.ts';
import { isMandateError, MandateError } from '../../errors.ts';
import { parseRoleMap } from '../../people/role-map.ts';
import { formatGrant } from '../../people/roles.ts';
import { checkReturnTo, OperatorSso, type SsoIdentity } from '../../people/sso.ts';
import { findOperator, insertOperator, updateOperator } from '../../store/operators.ts';
import type { LoginStateRow } from '../../store/repositories/login-states.ts';
import { parseOrThrow } from '../../validation.ts';
import { createAdminToken } from '../admin-tokens.ts';
import { bindConsoleLogin, clearConsoleLogin, consoleLoginBound, openConsoleSession } from '../console-session.ts';
import { FailureLimit } from '../failure-limit.ts';
import type { ServerContext } from '../context.ts';

/** Where a console sign-in returns (a login state's `return_to`; never a caller's input). */
export const CONSOLE_RETURN = '/console/';

const loginQuery = z.object({ return_to: z.string().max(2000).optional() });
const callbackQuery = z.object({ state: z.string().max(512).optional() });
const pollBody = z.object({ handle: z.string().min(1).max(512) });

/** The single sign-on settings, checked at start: all of issuer, client id and role map, or none. */
export function ssoSettingsOf(config: Config) {
  const { ssoIssuer, ssoClientId, ssoRoleMap } = config;
  if (!ssoIssuer && !ssoClientId && !ssoRoleMap) return undefined;
  if (!ssoIssuer || !ssoClientId || !ssoRoleMap) {
    throw new Error('invalid configuration: single sign-on needs MANDATE_SSO_ISSUER, MANDATE_SSO_CLIENT_ID and MANDATE_SSO_ROLE_MAP together');
  }
  return { issuer: new URL(ssoIssuer), clientId: ssoClientId, clientSecret: config.ssoClientSecret, roleMap: parseRoleMap(ssoRoleMap), groupsClaim: config.ssoGroupsClaim };
}

/**
 * Operator single sign-on (OpenID Connect): `GET /v1/login` sends the browser to the operators'
 * provider; `GET /v1/login/callback` finishes there, creates or refreshes the operator from the
 * groups the provider names, and issues a short-lived operator session (an API token for that
 * operator, with the mapped roles, expiring after MANDATE_SSO_SESSION_TTL). Both routes are public:
 * the provider authenticates the caller. Every finished login leaves `admin.login_succeeded` or
 * `admin.login_refused` in the system chain.
 */
export function loginRoutes(app: FastifyInstance, ctx: ServerContext) {
  const settings = ssoSettingsOf(ctx.config);
  let sso: OperatorSso | undefined;
  // The redirect URI is known once the server listens (port 0 in tests).
  const operatorSso = () => {
    if (!settings) throw new MandateError('ERR_SSO_NOT_CONFIGURED', 'single sign-on is not configured on this server');
    const base = (ctx.config.ssoRedirectBase ?? ctx.issuer).replace(/\/+$/, '');
    sso ??= new OperatorSso({ ...settings, redirectUri: `${base}/v1/login/callback` });
    return sso;
  };

  // Every login request counts against its client address, successful or not: each one costs the
  // provider a request, and a poll handle or state is a secret worth guessing.
  const limit = new FailureLimit({ limit: ctx.config.loginRateLimit, windowSeconds: 60, now: ctx.now });
  const throttle = (request: FastifyRequest, reply: FastifyReply) => {
    const client = `login:${request.ip}`;
    const wait = limit.retryAfter(client);
    if (wait > 0) {
      reply.header('retry-after', String(wait));
      throw new MandateError('ERR_LOGIN_RATE_LIMITED', `too many login requests from this address; retry in ${wait} s`);
    }
    limit.failed(client);
  };

  app.get('/v1/login', async (request, reply) => {
    throttle(request, reply);
    const { return_to } = parseOrThrow(loginQuery, request.query, 'query');
    const returnTo = return_to === undefined ? null : checkReturnTo(return_to);
    const url = await operatorSso().begin(ctx.store.db, returnTo, ctx.now());
    return reply.redirect(url.href, 303);
  });

  // The console signs in through the same provider flow; the callback ends in a session cookie.
  app.get('/v1/console/login', async (request, reply) => {
    throttle(request, reply);
    const url = await operatorSso().begin(ctx.store.db, CONSOLE_RETURN, ctx.now());
    bindConsoleLogin(ctx, request, reply, url.searchParams.get('state')!);
    return reply.redirect(url.href, 303);
  });

  app.get('/v1/login/callback', async (request, reply) => {
    const { state } = parseOrThrow(callbackQuery, request.query, 'query');
    const provider = operatorSso();
    let login: LoginStateRow | undefined;
    try {
      login = await provider.takeLogin(ctx.store.db, state ?? null, ctx.now());
      if (login.return_to === CONSOLE_RETURN && !consoleLoginBound(request, state)) {
        throw new MandateError('ERR_LOGIN_STATE_INVALID', 'this console sign-in was not started in this browser; start again');
      }
      const identity = await provider.complete(login, new URL(request.url, 'http://callback.invalid'));
      const session = await openSession(ctx, identity);
      await signedIn(ctx, 'GET /v1/login/callback', identity, session);
      if (login.return_to === CONSOLE_RETURN) {
        // The session token stays on the server: the browser gets only the session cookie.
        await openConsoleSession(ctx, request, reply, { id: session.id, expiresAt: session.expires_at, owned: true });
        clearConsoleLogin(reply);
        return reply.redirect(CONSOLE_RETURN, 303);
      }
      if (login.return_to) return reply.redirect(withParams(login.return_to, { token: session.token, id: session.id, operator: session.operator, roles: session.roles.join(','), expires_at: session.expires_at }), 303);
      return session;
    } catch (error) {
      await refused(ctx, request, 'GET /v1/login/callback', error);
      if (login?.return_to === CONSOLE_RETURN) {
        clearConsoleLogin(reply);
        return reply.redirect(`${CONSOLE_RETURN}?${new URLSearchParams({ error: isMandateError(error) ? error.code : 'ERR_LOGIN_FAILED' }).toString()}`, 303);
      }
      if (login?.return_to && isMandateError(error)) return reply.redirect(withParams(login.return_to, { error: error.code, error_description: error.message }), 303);
      throw error;
    }
  });

  // Device authorization grant (RFC 8628) for a CLI without a browser on its machine: start, then
  // poll with the handle until the person has signed in at the provider.
  app.post('/v1/login/device', async (request, reply) => {
    throttle(request, reply);
    return operatorSso().beginDevice(ctx.store.db, ctx.now());
  });

  app.post('/v1/login/device/poll', async (request, reply) => {
    throttle(request, reply);
    const { handle } = parseOrThrow(pollBody, request.body ?? {}, 'body');
    const provider = operatorSso();
    try {
      const polled = await provider.pollDevice(ctx.store.db, handle, ctx.now());
      if (polled.pending) return reply.status(202).send({ status: 'authorization_pending', interval: polled.interval });
      const session = await openSession(ctx, polled.identity);
      await signedIn(ctx, 'POST /v1/login/device/poll', polled.identity, session);
      return session;
    } catch (error) {
      await refused(ctx, request, 'POST /v1/login/device/poll', error);
      throw error;
    }
  });
}

async function signedIn(ctx: ServerContext, action: string, identity: SsoIdentity, session: { id: string; roles: string[] }) {
  await ctx.audit.append({
    chain: SYSTEM_CHAIN,
    type: 'admin.login_succeeded',
    actor: { instance: null, agent: null, person: identity.subject, delegation: [], token: session.id },
    action,
    resource: `/v1/operators/${identity.subject}`,
    status: 'success',
    reasons: { message: `roles ${session.roles.join(', ')} from groups ${identity.groups.join(', ')}` },
  });
}

/** Create or refresh the operator (the provider's groups are the source of its roles) and issue its session. */
async function openSession(ctx: ServerContext, identity: SsoIdentity) {
  const now = ctx.now();
  const roles = identity.grants.map(formatGrant);
  const expiresAt = new Date(now.getTime() + ctx.config.ssoSessionTtl * 1000);
  return ctx.store.transaction(async (trx) => {
    const bySubject = await findOperator(trx, identity.subject);
    const byEmail = await findOperator(trx, identity.email);
    if ((bySubject && bySubject.subject !== identity.subject) || (byEmail && byEmail.subject !== identity.subject)) {
      throw new MandateError('ERR_LOGIN_OPERATOR_CONFLICT', `${identity.email} belongs to another operator; an admin resolves it (mandate operator remove)`);
    }
    if (bySubject) await updateOperator(trx, identity.subject, { email: identity.email, name: identity.name, roles });
    else await insertOperator(trx, { subject: identity.subject, email: identity.email, name: identity.name, roles, created_at: now.toISOString(), created_by: 'sso' });
    const { id, token } = await createAdminToken(trx, { name: 'sso session', grants: identity.grants, operator: identity.subject, expiresAt, createdBy: 'sso', now });
    return { id, token, operator: identity.subject, email: identity.email, roles, expires_at: expiresAt.toISOString() };
  });
}

async function refused(ctx: ServerContext, request: FastifyRequest, action: string, error: unknown) {
  const code = isMandateError(error) ? error.code : 'ERR_INTERNAL';
  try {
    await ctx.audit.append({
      chain: SYSTEM_CHAIN,
      type: 'admin.login_refused',
      actor: { instance: null, agent: null, person: null, delegation: [], token: null },
      action,
      resource: request.url.split('?')[0]!,
      status: 'failure',
      decision: 'deny',
      denial_reason: code,
      reasons: { message: isMandateError(error) ? error.message : 'login failed' },
    });
  } catch (auditError) {
    ctx.logger.error({ err: (auditError as Error).message }, 'a refused login could not be recorded in the audit trail');
  }
}

const withParams = (target: string, params: Record<string, string>) => {
  const url = new URL(target);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  return url.href;
};


