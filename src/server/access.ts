import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { isMandateError, MandateError } from '../errors.ts';
import { SYSTEM_CHAIN } from '../audit/writer.ts';
import { type AgentTarget, allows, formatGrant } from '../people/roles.ts';
import { findAgentTarget, findApproval } from '../store/targets.ts';
import { ADMIN_ROUTES, type AdminRoute, adminRouteOf } from './admin-routes.ts';
import { type AdminPrincipal, type AdminRole, authenticateAdmin } from './admin-tokens.ts';
import type { ServerContext } from './context.ts';
import { authenticateSession, csrfRefusal, sessionIdOf } from './console-session.ts';

declare module 'fastify' {
  interface FastifyRequest {
    admin?: AdminPrincipal;
  }
}

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1];
}

/**
 * Admin authentication behind the brute-force brake: an address that failed too often is answered
 * 429 with `Retry-After` before its token is even looked at; only a refused token counts.
 */
export async function authenticateAdminFrom(ctx: Pick<ServerContext, 'store' | 'authFailures' | 'now'>, request: FastifyRequest, reply: FastifyReply, token = bearerToken(request)): Promise<AdminPrincipal> {
  const client = `admin:${request.ip}`;
  const wait = ctx.authFailures.retryAfter(client);
  if (wait > 0) {
    reply.header('retry-after', String(wait));
    throw new MandateError('ERR_TOO_MANY_FAILURES', `too many failed authentications from this address; retry in ${wait} s`);
  }
  try {
    return await authenticateAdmin(ctx.store.db, token, ctx.now());
  } catch (error) {
    if (isMandateError(error) && error.code === 'ERR_UNAUTHENTICATED') ctx.authFailures.failed(client);
    throw error;
  }
}

/**
 * Who may call which admin route: the roles `ADMIN_ROUTES` gives it, nobody else, and a grant
 * scoped to an environment (or an owner's) only for an agent of that environment (or theirs). A
 * refusal is a 403 `ERR_FORBIDDEN` and leaves an `admin.access_refused` event in the system chain.
 * A route missing from the table is refused to everyone (a test keeps the table complete).
 */
export function adminGuard(ctx: ServerContext) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const rule = adminRouteOf(request.method === 'HEAD' ? 'GET' : request.method, request.routeOptions.url);
    if (rule?.roles === 'public') return;
    const principal = await authenticatedCaller(ctx, request, reply);
    // An unknown path is a 404 for an authenticated caller, not a refusal.
    if (request.routeOptions.url === undefined) return;
    if (!rule || !(await admitted(ctx, principal, rule, request))) {
      const held = principal.grants.map(formatGrant).join(', ') || 'none';
      await ctx.audit.append({
        chain: SYSTEM_CHAIN,
        type: 'admin.access_refused',
        actor: adminActor(principal),
        action: `${request.method} ${request.routeOptions.url}`,
        resource: request.url.split('?')[0]!,
        status: 'failure',
        decision: 'deny',
        denial_reason: 'ERR_FORBIDDEN',
        reasons: { message: `roles ${held}` },
      });
      throw new MandateError('ERR_FORBIDDEN', `roles ${held} may not ${request.method} ${request.routeOptions.url}${rule?.target === 'agent' || rule?.target === 'approval' ? ' for this agent' : ''}`);
    }
    request.admin = principal;
  };
}

/**
 * A bearer token when one is sent, else a console session cookie. A mutation made with the cookie
 * must pass the CSRF check; a refusal is audited like a role refusal, with its own code.
 */
async function authenticatedCaller(ctx: ServerContext, request: FastifyRequest, reply: FastifyReply): Promise<AdminPrincipal> {
  const session = request.headers.authorization === undefined ? sessionIdOf(request) : undefined;
  if (session === undefined) return authenticateAdminFrom(ctx, request, reply);
  const principal = await authenticateSession(ctx, request, session);
  const forged = csrfRefusal(ctx, request, request.consoleSession!);
  if (forged !== undefined) {
    await ctx.audit.append({
      chain: SYSTEM_CHAIN,
      type: 'admin.access_refused',
      actor: adminActor(principal),
      action: `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`,
      resource: request.url.split('?')[0]!,
      status: 'failure',
      decision: 'deny',
      denial_reason: 'ERR_CSRF_REJECTED',
      reasons: { message: forged },
    });
    throw new MandateError('ERR_CSRF_REJECTED', `refused a change made with the console session: ${forged}`);
  }
  return principal;
}

/** The audit actor of an operator's change: the person behind the token, and the token's id. */
export const adminActor = (principal: AdminPrincipal | undefined) => ({ instance: null, agent: null, person: principal?.person ?? null, delegation: [], token: principal?.tokenId ?? null });

/** The `:id` of a route about one agent or approval; a malformed one is the handler's to refuse. */
const targetParams = z.object({ id: z.string().min(1).max(64) });

async function admitted(ctx: ServerContext, principal: AdminPrincipal, rule: AdminRoute, request: FastifyRequest): Promise<boolean> {
  const { grants, identities } = principal;
  if (rule.roles === 'public') return true;
  const roles: readonly AdminRole[] = rule.roles;
  if (rule.target === undefined) return allows(grants, roles, 'shared', identities);
  if (rule.target === 'listed' || rule.target === 'own' || rule.target === 'grants') return grants.some((g) => roles.includes(g.role));
  const params = targetParams.safeParse(request.params);
  const target = params.success ? await targetAgent(ctx, rule.target, params.data.id) : undefined;
  // An agent or approval that does not exist is the handler's 404 for anyone who might see one.
  if (!target) return grants.some((g) => roles.includes(g.role));
  return allows(grants, roles, target, identities);
}

async function targetAgent(ctx: ServerContext, kind: 'agent' | 'approval', id: string): Promise<AgentTarget | undefined> {
  const agentId = kind === 'agent' ? id : (await findApproval(ctx.store.db, id))?.agent_id;
  return agentId === undefined ? undefined : findAgentTarget(ctx.store.db, agentId);
}

/** Whether the caller may see `agent` (or an approval of its call) in the list `route` answers. */
export function sees(principal: AdminPrincipal, route: string, agent: AgentTarget | undefined): boolean {
  const roles = ADMIN_ROUTES[route]?.roles;
  if (roles === undefined || roles === 'public') return false;
  return allows(principal.grants, roles, agent ?? 'shared', principal.identities);
}
