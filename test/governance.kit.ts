import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { expect } from 'vitest';
import type { AgentRuntime, Mandate } from '../src/sdk/runtime.ts';
import type { MandateClaims } from '../src/tokens/mandate.ts';
import { type Principal, principalOf as principalOfClaims } from '../src/tokens/verify-request.ts';
import { bootstrap, CODE_HASH, decode, personToken, register } from './fixtures.ts';
import type { TestServer } from './harness.ts';

/** What the governance stories share: the real `server-everything` upstream and scripted agents. */
export const EVERYTHING = path.resolve(import.meta.dirname, '../node_modules/@modelcontextprotocol/server-everything/dist/index.js');

export async function addEverything(server: TestServer, tools: Record<string, object> = {}) {
  const added = await server.api('POST', '/v1/servers', { name: 'everything', transport: 'stdio', command: [process.execPath, EVERYTHING], tools });
  expect(added.status).toBe(201);
}

/** A dev-environment operator card reaching the given tools of `everything`. */
export const operatorCard = (id: string, tools: string[], extra: object = {}) => ({
  id,
  name: id,
  owner: 'alice@example.com',
  environment: 'dev',
  roles: ['operator'],
  code_hashes: [CODE_HASH],
  toolset: tools.map((t) => `tool:everything/${t}`),
  ...extra,
});

const open = new Set<AgentSession>();

/** Close every session a test left open (an open stream would hold the server's close). */
export async function closeSessions(): Promise<void> {
  await Promise.all([...open].map((s) => s.close().catch(() => {})));
  open.clear();
}

export interface AgentSession {
  runtime: AgentRuntime;
  mandate: Mandate;
  client: Client;
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  close(): Promise<void>;
}

/** Register (once), attest a fresh instance, obtain a mandate for alice, and connect over MCP. */
export async function agentSession(server: TestServer, card: { id: string; toolset: string[] }, options: { register?: boolean; budget?: number; environment?: string } = {}): Promise<AgentSession> {
  if (options.register !== false) await register(server, card);
  const resource = `${server.url}/mcp/everything`;
  const runtime = await bootstrap(server, card.id, { environment: options.environment ?? 'dev' });
  const mandate = await runtime.obtainMandate({
    subjectToken: await personToken(server, 'alice@example.com'),
    scope: card.toolset.join(' '),
    resource,
    ...(options.budget !== undefined ? { task: { id: 'task-1', budget: options.budget } } : {}),
  });
  const client = new Client({ name: card.id, version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(resource), { fetch: runtime.fetchWith(mandate) }));
  const session: AgentSession = {
    runtime,
    mandate,
    client,
    call: async (name, args = {}) => (await client.callTool({ name, arguments: args })) as CallToolResult,
    close: async () => {
      open.delete(session);
      await client.close();
    },
  };
  open.add(session);
  return session;
}

export const text = (result: CallToolResult) => (result.content[0] as { text: string }).text;
export const refusalMeta = (result: CallToolResult) => result._meta?.['mandate/refusal'] as { code: string; retryAfter?: number; approval?: { id: string; status: string; expiresAt: string } } | undefined;
export const budgetMeta = (result: CallToolResult) => result._meta?.['mandate/budget'] as { limit: number; spent: number; remaining: number } | undefined;

/** The principal an enforcement point builds from a verified mandate, for in-process `decideCall`. */
export function principalOf(token: string): Principal {
  return principalOfClaims(decode(token) as MandateClaims);
}
