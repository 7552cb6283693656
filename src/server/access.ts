import type { FastifyReply, FastifyRequest } from 'fastify';
import { isMandateError, MandateError } from '../errors.ts';
import { SYSTEM_CHAIN } from '../audit/writer.ts';
import { adminRouteOf } from './admin-routes.ts';
import { type AdminPrincipal, authenticateAdmin } from './admin-tokens.ts';
import type { ServerContext } from './context.ts';

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
export async function authenticateAdminFrom(ctx: Pick<ServerContext, 'store' | 'authFailures'>, request: FastifyRequest, reply: FastifyReply): Promise<AdminPrincipal> {
  const client = `admin:${request.ip}`;
  const wait = ctx.authFailures.retryAfter(client);
  if (wait > 0) {
    reply.header('retry-after', String(wait));
    throw new MandateError('ERR_TOO_MANY_FAILURES', `too many failed authentications from this address; retry in ${wait} s`);
  }
  try {
    return await authenticateAdmin(ctx.store.db, bearerToken(request));
  } catch (error) {
    if (isMandateError(error) && error.code === 'ERR_UNAUTHENTICATED') ctx.authFailures.failed(client);
    throw error;
  }
}

/**
 * Who may call which admin route: the roles `ADMIN_ROUTES` gives it, nobody else. A refusal is a
 * 403 `ERR_FORBIDDEN` and leaves an `admin.access_refused` event in the system chain. A route
 * missing from the table is refused to everyone (a test keeps the table complete).
 */
export function adminGuard(ctx: ServerContext) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const rule = adminRouteOf(request.method === 'HEAD' ? 'GET' : request.method, request.routeOptions.url);
    if (rule?.roles === 'public') return;
    const principal = await authenticateAdminFrom(ctx, request, reply);
    // An unknown path is a 404 for an authenticated caller, not a refusal.
    if (request.routeOptions.url === undefined) return;
    if (!rule || !rule.roles.includes(principal.role)) {
      await ctx.audit.append({
        chain: SYSTEM_CHAIN,
        type: 'admin.access_refused',
        actor: { instance: null, agent: null, person: principal.name, delegation: [] },
        action: `${request.method} ${request.routeOptions.url}`,
        resource: request.url.split('?')[0]!,
        status: 'failure',
        decision: 'deny',
        denial_reason: 'ERR_FORBIDDEN',
        reasons: { message: `role ${principal.role}` },
      });
      throw new MandateError('ERR_FORBIDDEN', `role ${principal.role} may not ${request.method} ${request.routeOptions.url}`);
    }
    request.admin = principal;
  };
}
