import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isErrorCode } from '../../errors/catalogue.ts';
import { isMandateError, MandateError } from '../../errors.ts';
import { DPOP_ALGS } from '../../jose/dpop-key.ts';
import { exchangeToken } from '../../tokens/exchange/pipeline.ts';
import { toOAuthError } from '../../tokens/oauth-errors.ts';
import { introspect, revokeToken } from '../../tokens/introspection.ts';
import { TOKEN_EXCHANGE_GRANT } from '../../jose/token-types.ts';
import { SYSTEM_CHAIN } from '../../audit/writer.ts';
import { allows } from '../../people/roles.ts';
import { adminActor, authenticateAdminFrom } from '../access.ts';
import type { AdminPrincipal } from '../admin-tokens.ts';
import type { ServerContext } from '../context.ts';
import { tooManyFailures } from '../failure-limit.ts';
import { toProblem } from '../problem.ts';
import { exchanges } from '../../telemetry/metrics.ts';
import { endSpan, startTrace } from '../../telemetry/trace.ts';

/**
 * OAuth endpoints (RFC 8693, 7662, 7009, 8414); errors are RFC 6749 §5.2 JSON, also for bodies
 * refused before a handler runs (malformed, too deep, too large, wrong media type).
 */
export function oauthRoutes(root: FastifyInstance, ctx: ServerContext) {
  root.register(async (app) => {
    app.setErrorHandler((error, _request, reply) => {
      const p = toProblem(error);
      const refusal = p.status < 500 && isErrorCode(p.code) ? new MandateError(p.code, p.detail) : error;
      const { status, body } = toOAuthError(refusal, 'token_endpoint');
      if (status >= 500) reply.log.error({ err: error }, 'OAuth endpoint failed');
      return reply.status(status === 400 ? p.status : status).header('cache-control', 'no-store').send(body);
    });
    oauthEndpoints(app, ctx);
  });
}

function oauthEndpoints(app: FastifyInstance, ctx: ServerContext) {
  const oauthError = (reply: FastifyReply, error: unknown) => {
    const { status, body } = toOAuthError(error, 'token_endpoint');
    if (status >= 500) reply.log.error({ err: error }, 'token endpoint failed');
    return reply.status(status).header('cache-control', 'no-store').send(body);
  };

  // Refused exchanges count against the client's address; a nonce challenge is part of the protocol.
  app.post('/oauth/token', async (request, reply) => {
    // RFC 9449 §8: the nonce to use next, on every answer (a client keeps the latest).
    if (ctx.dpopNonces) reply.header('dpop-nonce', ctx.dpopNonces.current(ctx.now()));
    const client = `token:${request.ip}`;
    const wait = ctx.authFailures.retryAfter(client);
    if (wait > 0) {
      const { body } = toOAuthError(new MandateError('ERR_TOO_MANY_FAILURES', `too many refused token requests from this address; retry in ${wait} s`), 'token_endpoint');
      return tooManyFailures(reply, wait, body);
    }
    const traceparent = request.headers.traceparent;
    const traced = startTrace('oauth token exchange', typeof traceparent === 'string' ? traceparent : undefined, { 'mandate.endpoint': 'token' });
    try {
      const dpop = request.headers.dpop;
      const response = await exchangeToken(ctx, request.body, typeof dpop === 'string' ? dpop : undefined, `${ctx.issuer}/oauth/token`);
      endSpan(traced);
      exchanges.inc(['issued', '']);
      return reply.header('cache-control', 'no-store').send(response);
    } catch (error) {
      endSpan(traced, isMandateError(error) ? { code: error.code } : { error: 'the exchange failed' });
      const refused = !(isMandateError(error) && error.code === 'ERR_DPOP_NONCE') && toOAuthError(error, 'token_endpoint').status < 500;
      exchanges.inc([toOAuthError(error, 'token_endpoint').status < 500 ? 'refused' : 'failed', isMandateError(error) ? error.code : '']);
      if (refused) ctx.authFailures.failed(client);
      return oauthError(reply, error);
    }
  });

  /** RFC 7662 §2.1 and RFC 7009 §2.1: the caller must authenticate; an API token of any role does. */
  const authenticated = async (request: FastifyRequest, reply: FastifyReply): Promise<AdminPrincipal | undefined> => {
    try {
      return await authenticateAdminFrom(ctx, request, reply);
    } catch (error) {
      if (isMandateError(error) && error.code === 'ERR_TOO_MANY_FAILURES') {
        tooManyFailures(reply, Number(reply.getHeader('retry-after')), { error: 'invalid_client', error_description: error.message });
      } else {
        reply.status(401).header('www-authenticate', 'Bearer').send({ error: 'invalid_client' });
      }
      return undefined;
    }
  };

  app.post('/oauth/introspect', async (request, reply) => {
    if (!(await authenticated(request, reply))) return reply;
    const token = (request.body as { token?: unknown } | null)?.token;
    return introspect(ctx, typeof token === 'string' ? token : '');
  });

  app.post('/oauth/revoke', async (request, reply) => {
    const caller = await authenticated(request, reply);
    if (!caller) return reply;
    // Ending an agent's mandates is a change: an unscoped admin or security operator makes it.
    if (!allows(caller.grants, ['admin', 'security'], 'shared', caller.identities)) {
      await ctx.audit.append({
        chain: SYSTEM_CHAIN,
        type: 'admin.access_refused',
        actor: adminActor(caller),
        action: 'POST /oauth/revoke',
        resource: '/oauth/revoke',
        status: 'failure',
        decision: 'deny',
        denial_reason: 'ERR_REVOKE_NOT_ALLOWED',
      });
      return oauthError(reply, new MandateError('ERR_REVOKE_NOT_ALLOWED', 'only an admin or security operator revokes mandates'));
    }
    const token = (request.body as { token?: unknown } | null)?.token;
    await revokeToken(ctx, typeof token === 'string' ? token : '');
    return reply.status(200).send();
  });

  app.get('/.well-known/oauth-authorization-server', async () => ({
    issuer: ctx.issuer,
    token_endpoint: `${ctx.issuer}/oauth/token`,
    introspection_endpoint: `${ctx.issuer}/oauth/introspect`,
    revocation_endpoint: `${ctx.issuer}/oauth/revoke`,
    jwks_uri: `${ctx.issuer}/.well-known/jwks.json`,
    grant_types_supported: [TOKEN_EXCHANGE_GRANT],
    token_endpoint_auth_methods_supported: ['none'],
    introspection_endpoint_auth_methods_supported: ['bearer'],
    revocation_endpoint_auth_methods_supported: ['bearer'],
    dpop_signing_alg_values_supported: [...DPOP_ALGS],
    authorization_details_types_supported: ['mandate_task', 'mandate_record'],
    scopes_supported: [],
  }));
}
