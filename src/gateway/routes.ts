import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isMandateError } from '../errors.ts';
import { jsonRpcError } from '../errors/render.ts';
import type { ServerContext } from '../server/context.ts';
import { toOAuthError } from '../tokens/oauth-errors.ts';
import { type Principal, refusedHolder, verifyPresentedMandate } from '../tokens/verify-request.ts';
import { recordRefusal, traceIdOf } from '../enforcement/call.ts';
import type { Gateway } from './gateway.ts';
import { isRejected, labelOf, registerJsonRpcParser } from './json-rpc-body.ts';
import { sessionServer } from './mcp-handlers.ts';
import { bindingOf, SessionTable } from './sessions.ts';

const traceOf = (request: FastifyRequest) => traceIdOf(typeof request.headers.traceparent === 'string' ? request.headers.traceparent : undefined);

/**
 * `/mcp/<server>`: MCP Streamable HTTP, authenticated per the MCP authorization spec with a
 * DPoP-bound mandate on every request. Without one: 401 and `WWW-Authenticate` naming the
 * protected resource metadata (RFC 9728), which names Mandate as the authorization server.
 */
export function gatewayRoutes(app: FastifyInstance, ctx: ServerContext, gateway: Gateway): SessionTable {
  const sessions = new SessionTable();
  const resourceOf = (server: string) => `${ctx.issuer}/mcp/${server}`;
  const metadataOf = (server: string) => `${ctx.issuer}/.well-known/oauth-protected-resource/mcp/${server}`;

  app.get('/.well-known/oauth-protected-resource/mcp/:server', async (request, reply) => {
    const { server } = request.params as { server: string };
    if (!(await gateway.spec(server))) return reply.status(404).send({ error: 'not_found' });
    return {
      resource: resourceOf(server),
      authorization_servers: [ctx.issuer],
      bearer_methods_supported: ['header'],
      dpop_signing_alg_values_supported: ['EdDSA', 'ES256'],
      dpop_bound_access_tokens_required: true,
      scopes_supported: [`tool:${server}/*`],
    };
  });

  const challenge = (reply: FastifyReply, server: string, error: unknown) => {
    const { status, body } = toOAuthError(error, 'resource');
    // RFC 9449 §9: a resource that requires nonces sends the one to use with every challenge.
    if (ctx.dpopNonces) reply.header('dpop-nonce', ctx.dpopNonces.current(ctx.now()));
    const parts = [`error="${body.error}"`, body.error_description ? `error_description="${body.error_description}"` : '', `resource_metadata="${metadataOf(server)}"`, 'algs="EdDSA ES256"'];
    return reply
      .status(status === 400 ? 401 : status)
      .header('www-authenticate', `DPoP ${parts.filter(Boolean).join(', ')}`)
      .send(jsonRpcError(isMandateError(error) && error.expose ? error.code : 'ERR_TOKEN_INVALID', body.error_description ?? body.error));
  };

  const authenticate = async (request: FastifyRequest, server: string): Promise<Principal> => {
    const presented = {
      authorization: request.headers.authorization,
      dpop: typeof request.headers.dpop === 'string' ? request.headers.dpop : undefined,
      htm: request.method,
      htu: resourceOf(server),
    };
    try {
      return await verifyPresentedMandate(ctx, { ...presented, resource: resourceOf(server) });
    } catch (error) {
      // A mandate for the whole gateway (`<issuer>/mcp`) is accepted at every server.
      if (isMandateError(error) && error.code === 'ERR_TOKEN_AUDIENCE') return verifyPresentedMandate(ctx, { ...presented, resource: `${ctx.issuer}/mcp` });
      throw error;
    }
  };

  const handle = async (request: FastifyRequest, reply: FastifyReply) => {
    const { server } = request.params as { server: string };
    // DNS rebinding: a browser page from another origin never reaches the gateway.
    const origin = request.headers.origin;
    if (origin && origin !== new URL(ctx.issuer).origin) {
      return reply.status(403).send(jsonRpcError('ERR_ORIGIN_REFUSED', 'foreign Origin refused'));
    }
    if (!(await gateway.spec(server))) {
      return reply.status(404).send(jsonRpcError('ERR_SERVER_NOT_FOUND', `no MCP server ${server}`));
    }
    let principal: Principal;
    try {
      principal = await authenticate(request, server);
    } catch (error) {
      // A revoked or expired mandate presented by its holder: refused and audited like any call.
      const holder = refusedHolder(error);
      if (holder && isMandateError(error)) {
        await recordRefusal(gateway.deps, { principal: holder, action: 'tools/call', scopeItem: '', resource: { type: 'server', server }, label: labelOf(server, request.body), traceId: traceOf(request) }, error.code, error.message).catch((e: Error) =>
          ctx.logger.warn({ server, err: e.message }, 'a refused mandate could not be audited'),
        );
      }
      return challenge(reply, server, error);
    }
    if (isRejected(request.body)) {
      const { message, mandateCode } = request.body.rejected;
      await recordRefusal(gateway.deps, { principal, action: 'tools/call', scopeItem: '', resource: { type: 'server', server }, label: server, traceId: traceOf(request) }, mandateCode, message);
      return reply.status(400).send(jsonRpcError(mandateCode, message));
    }
    const sessionId = request.headers['mcp-session-id'];
    let transport;
    if (typeof sessionId === 'string') {
      const session = sessions.get(sessionId);
      if (!session || session.server !== server) {
        return reply.status(404).send(jsonRpcError('ERR_SESSION_NOT_FOUND', 'session not found'));
      }
      if (session.binding !== bindingOf(principal)) {
        const message = 'this session belongs to another principal';
        await recordRefusal(gateway.deps, { principal, action: 'tools/call', scopeItem: '', resource: { type: 'server', server }, label: labelOf(server, request.body), traceId: traceOf(request) }, 'ERR_SESSION_FOREIGN', message);
        return reply.status(403).send(jsonRpcError('ERR_SESSION_FOREIGN', message));
      }
      transport = session.transport;
    } else {
      const mcp = sessionServer(gateway, server);
      transport = sessions.open(server, mcp, principal);
      await mcp.connect(transport);
    }
    const raw = request.raw as typeof request.raw & { auth?: AuthInfo };
    raw.auth = { token: 'mandate', clientId: principal.agentId, scopes: principal.claims.scope.split(' '), extra: { principal } };
    reply.hijack();
    await transport.handleRequest(raw, reply.raw, request.body);
  };

  app.register(async (scope) => {
    registerJsonRpcParser(scope);
    scope.post('/mcp/:server', handle);
    scope.get('/mcp/:server', handle);
    scope.delete('/mcp/:server', handle);
  });
  return sessions;
}
