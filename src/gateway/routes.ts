import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isMandateError } from '../errors.ts';
import type { ServerContext } from '../server/context.ts';
import { toOAuthError } from '../tokens/oauth-errors.ts';
import { type Principal, verifyPresentedMandate } from '../tokens/verify-request.ts';
import type { Gateway } from './gateway.ts';
import { sessionServer } from './mcp-handlers.ts';
import { bindingOf, SessionTable } from './sessions.ts';

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
    const parts = [`error="${body.error}"`, body.error_description ? `error_description="${body.error_description}"` : '', `resource_metadata="${metadataOf(server)}"`, 'algs="EdDSA ES256"'];
    return reply
      .status(status === 400 ? 401 : status)
      .header('www-authenticate', `DPoP ${parts.filter(Boolean).join(', ')}`)
      .send({ jsonrpc: '2.0', id: null, error: { code: -32001, message: body.error_description ?? body.error, data: { code: isMandateError(error) && error.expose ? error.code : body.error } } });
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
      return reply.status(403).send({ jsonrpc: '2.0', id: null, error: { code: -32000, message: 'foreign Origin refused' } });
    }
    if (!(await gateway.spec(server))) {
      return reply.status(404).send({ jsonrpc: '2.0', id: null, error: { code: -32000, message: `no MCP server ${server}` } });
    }
    let principal: Principal;
    try {
      principal = await authenticate(request, server);
    } catch (error) {
      return challenge(reply, server, error);
    }
    const sessionId = request.headers['mcp-session-id'];
    let transport;
    if (typeof sessionId === 'string') {
      const session = sessions.get(sessionId);
      if (!session || session.server !== server) {
        return reply.status(404).send({ jsonrpc: '2.0', id: null, error: { code: -32001, message: 'session not found' } });
      }
      if (session.binding !== bindingOf(principal)) {
        return reply.status(403).send({ jsonrpc: '2.0', id: null, error: { code: -32000, message: 'this session belongs to another principal' } });
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

  app.post('/mcp/:server', handle);
  app.get('/mcp/:server', handle);
  app.delete('/mcp/:server', handle);
  return sessions;
}
