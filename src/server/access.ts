import type { FastifyReply, FastifyRequest } from 'fastify';
import { isMandateError, MandateError } from '../errors.ts';
import { type AdminPrincipal, type AdminRole, authenticateAdmin } from './admin-tokens.ts';
import type { ServerContext } from './context.ts';

/**
 * Who may call which admin route. A route declares its access class in `config.access`;
 * otherwise reads are `read` and everything else `write`.
 *   read    admin, auditor (and approver under /v1/approvals)
 *   write   admin
 *   approve admin, approver
 *   public  no admin token: the route authenticates its caller itself (agent runtimes)
 */
export type AccessClass = 'read' | 'write' | 'approve' | 'public';

const allowed: Record<Exclude<AccessClass, 'public'>, readonly AdminRole[]> = {
  read: ['admin', 'auditor'],
  write: ['admin'],
  approve: ['admin', 'approver'],
};

declare module 'fastify' {
  interface FastifyRequest {
    admin?: AdminPrincipal;
  }
  interface FastifyContextConfig {
    access?: AccessClass;
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

export function adminGuard(ctx: ServerContext) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.routeOptions.config.access === 'public') return;
    const principal = await authenticateAdminFrom(ctx, request, reply);
    const access = request.routeOptions.config.access ?? (request.method === 'GET' ? 'read' : 'write');
    // Approvers read the approvals they act on.
    const approverReading = principal.role === 'approver' && access === 'read' && (request.routeOptions.url ?? '').startsWith('/v1/approvals');
    if (!approverReading && !allowed[access].includes(principal.role)) {
      throw new MandateError(
        'ERR_FORBIDDEN',
        `role ${principal.role} may not ${request.method} ${request.routeOptions.url}`);
    }
    request.admin = principal;
  };
}
