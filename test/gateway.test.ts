import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentRuntime, Mandate } from '../src/sdk/runtime.ts';
import { CODE_HASH, bootstrap, personToken, register } from './fixtures.ts';
import { readJson, startTestServer, type TestServer } from './harness.ts';

/** Real peers: the reference `server-everything` over stdio upstream, the SDK's Client downstream. */
const EVERYTHING = path.resolve(import.meta.dirname, '../node_modules/@modelcontextprotocol/server-everything/dist/index.js');
const SECRET = 'sk-live-4f9c2b7e1d0a8f6e5c3b';

const toolBot = {
  id: 'tool-bot',
  name: 'Tool bot',
  owner: 'alice@example.com',
  environment: 'dev',
  roles: ['operator'],
  code_hashes: [CODE_HASH],
  toolset: ['tool:everything/echo', 'tool:everything/get-sum', 'tool:everything/get-env', 'tool:everything/trigger-long-running-operation'],
};

const text = (result: unknown) => ((result as CallToolResult).content[0] as { text: string }).text;

describe('the MCP gateway in front of a real MCP server', () => {
  let server: TestServer;
  let runtime: AgentRuntime;
  let mandate: Mandate;
  let client: Client;
  let transport: StreamableHTTPClientTransport;
  let resource: string;

  beforeAll(async () => {
    server = await startTestServer('sqlite');
    resource = `${server.url}/mcp/everything`;
    await register(server, toolBot);
    expect((await server.api('PUT', '/v1/secrets/everything_token', { value: SECRET })).status).toBe(200);
    const added = await server.api('POST', '/v1/servers', {
      name: 'everything',
      transport: 'stdio',
      command: [process.execPath, EVERYTHING],
      env: { API_TOKEN: '{{secret:everything_token}}' },
      tools: { 'trigger-long-running-operation': { high_impact: true, cost: 5 } },
    });
    expect(added.status).toBe(201);
    runtime = await bootstrap(server, 'tool-bot', { environment: 'dev' });
    mandate = await runtime.obtainMandate({
      subjectToken: await personToken(server, 'alice@example.com'),
      scope: 'tool:everything/echo tool:everything/get-env tool:everything/trigger-long-running-operation',
      resource,
    });
    transport = new StreamableHTTPClientTransport(new URL(resource), { fetch: runtime.fetchWith(mandate) });
    client = new Client({ name: 'test-agent', version: '1.0.0' });
    await client.connect(transport);
  });

  afterAll(async () => {
    await client?.close();
    await server.close();
  });

  it('lists only the tools the mandate covers', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['echo', 'get-env', 'trigger-long-running-operation']);
  });

  it('forwards an allowed call and audits the decision before the result', async () => {
    const result = await client.callTool({ name: 'echo', arguments: { message: 'hello through Mandate' } });
    expect(text(result)).toContain('hello through Mandate');
    const events = server.audit.events.filter((e) => e.resource === 'everything/echo');
    expect(events.map((e) => [e.type, e.decision ?? null, e.status])).toEqual([
      ['tool.decision', 'allow', 'success'],
      ['tool.result', null, 'success'],
    ]);
    expect(events[0]!.actor).toMatchObject({ instance: runtime.instanceId, agent: 'tool-bot', person: 'alice@example.com' });
    expect(events[0]!.args_digest).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(JSON.stringify(events)).not.toContain('hello through Mandate');
  });

  it('refuses a tool outside the mandate even when called directly, and says why', async () => {
    const result = await client.callTool({ name: 'get-sum', arguments: { a: 1, b: 2 } });
    expect(result.isError).toBe(true);
    expect(text(result)).toBe('Mandate refused this call: the mandate does not cover tool:everything/get-sum');
    const denial = server.audit.events.find((e) => e.resource === 'everything/get-sum');
    expect(denial).toMatchObject({ type: 'tool.decision', decision: 'deny', denial_reason: 'ERR_SCOPE_NOT_GRANTED' });
    expect(server.audit.events.some((e) => e.type === 'tool.result' && e.resource === 'everything/get-sum')).toBe(false);
  });

  it('never lets the injected upstream credential reach the agent', async () => {
    const result = await client.callTool({ name: 'get-env', arguments: {} });
    const body = JSON.stringify(result);
    expect(body).not.toContain(SECRET);
    expect(body).toContain('[REDACTED]');
  });

  it('holds a high-impact tool for approval, with the policy reason', async () => {
    const result = await client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 1, steps: 1 } });
    expect(result.isError).toBe(true);
    expect(text(result)).toContain('a person must approve this call');
    expect(server.audit.events.find((e) => e.resource === 'everything/trigger-long-running-operation')).toMatchObject({
      denial_reason: 'ERR_APPROVAL_REQUIRED',
      reasons: { policies: ['high-impact-needs-approval'] },
    });
  });

  it('refuses a tool name in another spelling (control, invisible, whitespace, not NFC) before any upstream, and audits it', async () => {
    for (const name of ['echo\u0000', 'ech\u200bo', 'echo ', '\u202eecho', 'e\u0301cho']) {
      const result = (await client.callTool({ name, arguments: { message: 'spelled' } })) as CallToolResult;
      expect({ name, isError: result.isError, code: (result._meta?.['mandate/refusal'] as { code?: string } | undefined)?.code }).toEqual({ name, isError: true, code: 'ERR_IDENTIFIER_NOT_CANONICAL' });
      expect(text(result)).not.toContain('spelled');
    }
    const refusals = server.audit.events.filter((e) => e.denial_reason === 'ERR_IDENTIFIER_NOT_CANONICAL');
    expect(refusals.map((e) => [e.type, e.decision])).toEqual(Array(5).fill(['tool.decision', 'deny']));
    // Nothing was forwarded: no result was ever recorded for these names.
    const labels = new Set(refusals.map((e) => e.resource));
    expect(server.audit.events.filter((e) => e.type === 'tool.result' && labels.has(e.resource))).toEqual([]);
  });

  it('validates arguments against the pinned schema before forwarding', async () => {
    const result = await client.callTool({ name: 'echo', arguments: { message: 42 } });
    expect(result.isError).toBe(true);
    expect(text(result)).toContain('arguments do not match the input schema of echo');
  });

  it('answers a request without a mandate with 401 pointing at the protected resource metadata', async () => {
    const res = await fetch(resource, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) });
    expect(res.status).toBe(401);
    const challenge = res.headers.get('www-authenticate')!;
    expect(challenge).toMatch(/^DPoP /);
    expect(challenge).toContain(`resource_metadata="${server.url}/.well-known/oauth-protected-resource/mcp/everything"`);
    const metadata = await readJson(await fetch(`${server.url}/.well-known/oauth-protected-resource/mcp/everything`));
    expect(metadata).toMatchObject({ resource, authorization_servers: [server.url] });
  });

  it('refuses a Bearer mandate without its DPoP proof', async () => {
    const res = await fetch(resource, {
      method: 'POST',
      headers: { authorization: `Bearer ${mandate.token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('refuses the session id when another agent instance presents it', async () => {
    const other = await bootstrap(server, 'tool-bot', { environment: 'dev' });
    const otherMandate = await other.obtainMandate({ subjectToken: await personToken(server, 'alice@example.com'), scope: 'tool:everything/echo', resource });
    const res = await other.fetchWith(otherMandate)(resource, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': transport.sessionId!, 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }),
    });
    expect(res.status).toBe(403);
    expect((await readJson(res)).error).toEqual({ code: -32000, message: 'this session belongs to another principal', data: { code: 'ERR_SESSION_FOREIGN' } });
    expect(server.audit.events.filter((e) => e.denial_reason === 'ERR_SESSION_FOREIGN')).toEqual([
      expect.objectContaining({ type: 'tool.decision', decision: 'deny', resource: 'everything', actor: expect.objectContaining({ instance: other.instanceId }) }),
    ]);
  });

  it('refuses resources to a mandate that does not cover the whole server, and audits it', async () => {
    await expect(client.listResources()).rejects.toThrow('resources and prompts of everything need a mandate for tool:everything/*');
    expect(server.audit.events.filter((e) => e.resource === 'everything resources/list')).toEqual([
      expect.objectContaining({ type: 'tool.decision', action: 'resources/list', decision: 'deny', denial_reason: 'ERR_SCOPE_NOT_GRANTED', actor: expect.objectContaining({ instance: runtime.instanceId }) }),
    ]);
  });

  it('refuses a foreign browser Origin', async () => {
    const res = await runtime.fetchWith(mandate)(resource, {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(res.status).toBe(403);
  });
});
