// A stdio MCP server (SDK McpServer) for fault tests: `hello` answers, `crash` kills the process,
// `hang` never answers, `count` reports how many times this process has started answering.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const server = new McpServer({ name: 'crashy', version: '1.0.0' });
server.registerTool('hello', { description: 'Say hello', inputSchema: { name: z.string() } }, async ({ name }) => ({
  content: [{ type: 'text', text: `hello ${name} from pid ${process.pid}` }],
}));
server.registerTool('crash', { description: 'Exit the server process' }, async () => {
  setImmediate(() => process.exit(1));
  return new Promise(() => {});
});
server.registerTool('hang', { description: 'Never answer' }, async () => new Promise(() => {}));
await server.connect(new StdioServerTransport());
