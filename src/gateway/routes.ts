import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode } from '../errors.ts';
import { traceOf } from '../enforcement/authenticate.ts';
import { recordRefusal } from '../enforcement/trail.ts';
import type { EnforcementContext } from '../enforcement/context.ts';
import { frontDoor } from '../enforcement/front-door.ts';
import { mcpTools } from '../enforcement/kinds.ts';
import type { Principal } from '../tokens/verify-request.ts';
import type { Gateway } from './gateway.ts';
import { isRejected, labelOf, registerJsonRpcParser } from './json-rpc-body.ts';
import { sessionServer } from './mcp-handlers.ts';
import { bindingOf, SessionTable } from './sessions.ts';

/**
 * `/mcp/<server>`: MCP Streamable HTTP, authenticated per the MCP authorization spec with a
 * DPoP-bound mandate on every request, through the enforcement-point kit (`mcpTools`): without
 * one, 401 and `WWW-Authenticate` naming the protected resource metadata (RFC 9728), which names
 * Mandate as the authorization server.
 */
export function gatewayRoutes(app: FastifyInstance, ctx: EnforcementContext, gateway: Gateway): SessionTable {
  const sessions = new SessionTable();
  const door = frontDoor(app, ctx, mcpTools, {
    calls: () => gateway.deps,
    exists: async (server) => Boolean(await gateway.spec(server)),
    notFound: (reply) => reply.status(404).send({ error: 'not_found' }),
  });
  const refuse = (request: FastifyRequest, principal: Principal, server: string, label: string, code: ErrorCode, message: string) =>
    recordRefusal(gateway.deps, { principal, action: mcpTools.action, scopeItem: '', resource: { type: 'server', server }, label, traceId: traceOf(request) }, code, message);

  const handle = async (request: FastifyRequest, reply: FastifyReply) => {
    const { server } = request.params as { server: string };
    if (door.refuseForeignOrigin(request, reply)) return reply;
    if (!(await gateway.spec(server))) return door.refuse(reply, 404, 'ERR_SERVER_NOT_FOUND', `no MCP server ${server}`);
    const principal = await door.admit(request, reply, { name: server, label: labelOf(server, request.body), resource: { type: 'server', server } }, { governedCall: isToolCall(request.body) });
    if (!principal) return reply;
    if (isRejected(request.body)) {
      const { message, mandateCode } = request.body.rejected;
      await refuse(request, principal, server, server, mandateCode, message);
      return door.refuse(reply, 400, mandateCode, message);
    }
    const sessionId = request.headers['mcp-session-id'];
    let transport;
    if (typeof sessionId === 'string') {
      const session = sessions.get(sessionId);
      if (!session || session.server !== server) {
        return door.refuse(reply, 404, 'ERR_SESSION_NOT_FOUND', 'session not found');
      }
      if (session.binding !== bindingOf(principal)) {
        const message = 'this session belongs to another principal';
        await refuse(request, principal, server, labelOf(server, request.body), 'ERR_SESSION_FOREIGN', message);
        return door.refuse(reply, 403, 'ERR_SESSION_FOREIGN', message);
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

/** One `tools/call` request: its DPoP proof is recorded with the call's decision. */
const isToolCall = (body: unknown): boolean =>
  typeof body === 'object' && body !== null && !Array.isArray(body) && (body as { method?: unknown }).method === 'tools/call' && (body as { id?: unknown }).id !== undefined;
