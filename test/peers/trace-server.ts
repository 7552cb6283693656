// A stdio MCP server (SDK McpServer) that answers with the W3C traceparent its call carried in
// `params._meta` (where MCP carries trace context), so a test can check the gateway propagated it.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const mcp = new McpServer({ name: 'traced', version: '1.0.0' });
mcp.registerTool('echo', { description: 'Echoes the trace context it received', inputSchema: { note: z.string().optional() } }, async (_args, extra) => ({
  content: [{ type: 'text', text: JSON.stringify({ traceparent: extra._meta?.traceparent ?? null }) }],
}));
await mcp.connect(new StdioServerTransport());
