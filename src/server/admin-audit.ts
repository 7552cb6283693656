import type { FastifyInstance, FastifyRequest } from 'fastify';
import { searchDigest } from '../audit/redact.ts';
import { isMandateError } from '../errors.ts';
import { SYSTEM_CHAIN } from '../audit/writer.ts';
import { adminActor } from './access.ts';
import { adminRouteOf, NO_BODY_DIGEST } from './admin-routes.ts';
import type { ServerContext } from './context.ts';

/**
 * Everything an operator changes is in the trail: a successful mutating admin call leaves the
 * event its route declares in the `system` chain, with the operator as actor and a keyed digest of
 * what was sent (never the body, and no digest at all where the body holds a secret value). The
 * event is durable before the answer leaves; if it cannot be written the operator gets an error,
 * and the server log says which change went unrecorded.
 */
export function registerAdminAudit(app: FastifyInstance, ctx: Pick<ServerContext, 'audit' | 'auditKey' | 'logger'>): void {
  // A handler's own refusal of an operator (a role they may not grant, an approval of their own
  // call) is audited like the guard's, with its code.
  app.addHook('onError', async (request, _reply, error) => {
    if (!request.admin || !isMandateError(error) || error.status !== 403) return;
    await ctx.audit.append({
      chain: SYSTEM_CHAIN,
      type: 'admin.access_refused',
      actor: adminActor(request.admin),
      action: `${request.method} ${request.routeOptions.url}`,
      resource: resourceOf(request),
      status: 'failure',
      decision: 'deny',
      denial_reason: error.code,
      reasons: { message: error.message },
    });
  });
  app.addHook('onSend', async (request, reply, payload) => {
    if (reply.statusCode >= 400 || !request.admin) return payload;
    const route = `${request.method} ${request.routeOptions.url}`;
    const event = adminRouteOf(request.method, request.routeOptions.url)?.event;
    if (!event || event.by !== 'server') return payload;
    try {
      await ctx.audit.append({
        chain: SYSTEM_CHAIN,
        type: event.type,
        actor: adminActor(request.admin),
        action: route,
        resource: resourceOf(request),
        status: 'success',
        ...(NO_BODY_DIGEST.has(route) || request.body === undefined || request.body === null ? {} : { args_digest: searchDigest(request.body, ctx.auditKey) }),
      });
    } catch (error) {
      ctx.logger.error({ route, resource: resourceOf(request), err: (error as Error).message }, 'an admin change could not be recorded in the audit trail');
      throw error;
    }
    return payload;
  });
}

/** What was changed: the path's own names (`/v1/agents/support-bot/suspend`), without the query. */
const resourceOf = (request: FastifyRequest) => request.url.split('?')[0]!;
