import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { SYSTEM_CHAIN } from '../../audit/writer.ts';
import { isMandateError, MandateError } from '../../errors.ts';
import { formatGrant } from '../../people/roles.ts';
import { parseOrThrow } from '../../validation.ts';
import { adminActor, authenticateAdminFrom } from '../access.ts';
import type { AdminPrincipal } from '../admin-tokens.ts';
import { closeConsoleSession, openConsoleSession, sameOrigin } from '../console-session.ts';
import type { ServerContext } from '../context.ts';

const signInBody = z.strictObject({ token: z.string().min(1).max(200) });

const describe = (principal: AdminPrincipal) => ({
  operator: principal.person,
  email: principal.operator?.email ?? null,
  token_id: principal.tokenId,
  roles: principal.grants.map(formatGrant),
});

/**
 * The console's session (see console-session.ts): sign in by pasting an operator token once (it is
 * exchanged for the cookie and never kept by the browser), read who is signed in with the CSRF
 * token for mutations, sign out. Single sign-on ends in the same session through `/v1/login`.
 */
export function consoleSessionRoutes(app: FastifyInstance, ctx: ServerContext) {
  app.post('/v1/console/session', async (request, reply) => {
    // A forged sign-in would put a victim's browser in the attacker's session: same origin only.
    const origin = request.headers.origin;
    if (origin !== undefined && !sameOrigin(ctx, request, origin)) throw new MandateError('ERR_CSRF_REJECTED', `origin ${origin} may not sign in to this console`);
    const { token } = parseOrThrow(signInBody, request.body ?? {}, 'sign-in');
    let principal: AdminPrincipal;
    try {
      // Behind the same brute-force brake as every admin token.
      principal = await authenticateAdminFrom(ctx, request, reply, token);
    } catch (error) {
      if (isMandateError(error) && error.code === 'ERR_UNAUTHENTICATED') throw new MandateError('ERR_CONSOLE_TOKEN_INVALID', 'this is not a valid, live operator token');
      throw error;
    }
    const session = await openConsoleSession(ctx, request, reply, { id: principal.tokenId, expiresAt: principal.expiresAt, owned: false });
    await ctx.audit.append({
      chain: SYSTEM_CHAIN,
      type: 'admin.console_signed_in',
      actor: adminActor(principal),
      action: 'POST /v1/console/session',
      resource: '/v1/console/session',
      status: 'success',
      reasons: { message: `with operator token ${principal.tokenId}` },
    });
    reply.status(201);
    return { ...describe(principal), ...session };
  });

  app.get('/v1/console/session', async (request) => ({
    ...describe(request.admin!),
    csrf_token: request.consoleSession?.csrf_token ?? null,
    expires_at: request.consoleSession?.expires_at ?? request.admin!.expiresAt,
  }));

  app.delete('/v1/console/session', async (request, reply) => {
    const ended = await closeConsoleSession(ctx, request, reply);
    return { signed_out: ended, operator: request.admin!.person };
  });
}
