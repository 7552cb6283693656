// A stdio MCP server (SDK McpServer) over customers' orders. Every call it receives is appended to
// the file named by ORDERS_LOG, so a test can prove that a refused call never reached it.
import fs from 'node:fs';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const log = process.env.ORDERS_LOG ?? '';
const received = (tool: string, args: unknown) => fs.appendFileSync(log, `${JSON.stringify({ tool, args })}\n`);

const mcp = new McpServer({ name: 'orders', version: '1.0.0' });
mcp.registerTool('get_orders', { description: "A customer's orders", inputSchema: { customer_id: z.string(), filter: z.object({ customer_id: z.string().optional() }).optional() } }, async (args) => {
  received('get_orders', args);
  return { content: [{ type: 'text', text: `orders of customer ${args.customer_id}` }] };
});
mcp.registerTool('refund', { description: 'Refund an amount to a customer', inputSchema: { customer_id: z.string(), amount: z.number().int(), note: z.string().optional() } }, async (args) => {
  received('refund', args);
  return { content: [{ type: 'text', text: `refunded ${args.amount} to customer ${args.customer_id}` }] };
});
await mcp.connect(new StdioServerTransport());
