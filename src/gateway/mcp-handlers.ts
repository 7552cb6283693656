import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  type CallToolResult,
  CallToolRequestSchema,
  CompleteRequestSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ErrorCode,
  ReadResourceRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from '../tokens/verify-request.ts';
import type { Gateway } from './gateway.ts';

/**
 * The MCP server an agent session talks to. Every request is answered from the principal of the
 * HTTP request that carried it (never the session's first one), so a batch or a long session is
 * authorized message by message.
 */
export function sessionServer(gateway: Gateway, serverName: string): Server {
  const server = new Server(
    { name: `mandate-gateway/${serverName}`, version: '0.1.0' },
    { capabilities: { tools: { listChanged: false }, resources: {}, prompts: {}, completions: {} } },
  );
  const principalOf = (extra: { authInfo?: { extra?: Record<string, unknown> } }): Principal => {
    const principal = extra.authInfo?.extra?.principal as Principal | undefined;
    if (!principal) throw new McpError(ErrorCode.InvalidRequest, 'unauthenticated');
    return principal;
  };

  server.setRequestHandler(ListToolsRequestSchema, async (_request, extra) => ({
    tools: await gateway.visibleTools(serverName, principalOf(extra)),
  }));

  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const traceparent = (extra.requestInfo?.headers?.traceparent ?? undefined) as string | undefined;
    return gateway.callTool(serverName, principalOf(extra), request.params.name, request.params.arguments ?? {}, traceparent);
  });

  // Resources, prompts and completions pass only for a mandate that covers the whole server
  // (`tool:<server>/*`). What they return was scrubbed on arrival (`ScrubbedTransport`). The pooled
  // upstream session is shared by every agent, so its notifications (logging, progress,
  // list_changed, resource updates) and requests (sampling, elicitation) are never relayed.
  const whole = async (request: { method: string }, extra: { authInfo?: { extra?: Record<string, unknown> } }) => gateway.requireWholeServer(serverName, principalOf(extra), request.method);
  server.setRequestHandler(ListResourcesRequestSchema, async (request, extra) => (await whole(request, extra)).client.listResources(request.params));
  server.setRequestHandler(ListResourceTemplatesRequestSchema, async (request, extra) => (await whole(request, extra)).client.listResourceTemplates(request.params));
  server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => (await whole(request, extra)).client.readResource(request.params));
  server.setRequestHandler(ListPromptsRequestSchema, async (request, extra) => (await whole(request, extra)).client.listPrompts(request.params));
  server.setRequestHandler(GetPromptRequestSchema, async (request, extra) => (await whole(request, extra)).client.getPrompt(request.params));
  server.setRequestHandler(CompleteRequestSchema, async (request, extra) => (await whole(request, extra)).client.complete(request.params));
  return server;
}
