import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { AgentRuntime } from '../../src/sdk/runtime.ts';
import { sha256Hex } from '../../src/sdk/manifest.ts';
import { check, claimsOf, startEmbedded } from '../embedded.ts';

/**
 * An agent runtime that talks MCP through Mandate's gateway: it attests, gets a mandate for a
 * person's task, and uses the official MCP SDK client with `runtime.fetchWith(mandate)`.
 */
const EVERYTHING = fileURLToPath(new URL('../../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url));
const CODE = 'print("mcp agent v1")';

const mandate = await startEmbedded('mcp-agent');
let client: Client | undefined;
try {
  console.log(`Embedded Mandate at ${mandate.url}`);

  // 1. An agent card, and a real MCP server (stdio) behind the gateway.
  const codeHash = sha256Hex(CODE);
  await mandate.admin('POST', '/v1/agents', {
    id: 'mcp-agent',
    name: 'MCP agent',
    owner: 'alice@example.com',
    environment: 'prod',
    code_hashes: [codeHash],
    toolset: ['tool:everything/*'],
    roles: ['operator'],
  });
  await mandate.admin('POST', '/v1/servers', { name: 'everything', transport: 'stdio', command: [process.execPath, EVERYTHING] });
  console.log('registered agent mcp-agent and MCP server everything');

  // 2. The runtime attests with a one-time join token: its key never leaves the process.
  const join = await mandate.admin('POST', '/v1/agents/mcp-agent/join-tokens', {});
  const runtime = await AgentRuntime.bootstrap(mandate.url, { agent_id: 'mcp-agent', join_token: String(join.token), code_hash: codeHash, environment: 'prod', runtime: { host: os.hostname() } });
  console.log(`attested as ${runtime.spiffeId}`);

  // 3. A mandate for alice's task, for the echo tool only.
  const person = await mandate.admin('POST', '/v1/users/token', { subject: 'alice@example.com' });
  const resource = `${mandate.url}/mcp/everything`;
  const granted = await runtime.obtainMandate({ subjectToken: String(person.token), scope: 'tool:everything/echo', resource, task: { id: 'T-1', description: 'say hello' } });
  const claims = claimsOf(granted.token);
  console.log(`mandate: sub=${claims.sub} scope=${claims.scope}`);

  // 4. The MCP client connects through the gateway with the mandate (DPoP proof per request).
  client = new Client({ name: 'mcp-agent', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(resource), { fetch: runtime.fetchWith(granted) }));
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  console.log(`tools/list → ${names.join(', ')}`);
  check(names.length === 1 && names[0] === 'echo', `the mandate covers echo only, saw ${names.join(', ')}`);

  const result = (await client.callTool({ name: 'echo', arguments: { message: 'Hello through Mandate' } })) as CallToolResult;
  const text = (result.content[0] as { text?: string } | undefined)?.text ?? '';
  console.log(`echo → ${text}`);
  check(!result.isError && text.includes('Hello through Mandate'), `echo returned ${JSON.stringify(result)}`);

  console.log('OK: the MCP agent listed its tools and called echo through the gateway');
} finally {
  await client?.close().catch(() => {});
  await mandate.close();
}
