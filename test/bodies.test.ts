import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentRuntime } from '../src/sdk/runtime.ts';
import { CODE_HASH, bootstrap, personToken, register } from './fixtures.ts';
import { readJson, startTestServer, type TestServer } from './harness.ts';

/**
 * Issue 14: bodies Mandate cannot read are refused with a stable 400 at every HTTP endpoint (admin
 * API, OAuth, the gateway, the broker), MCP endpoints answer them in JSON-RPC, and a refused call
 * is audited even when its arguments could not be read.
 */
const CRASHY = path.resolve(import.meta.dirname, 'peers/crashy-server.ts');
const deep = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;
const deepObject = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

describe('bodies Mandate cannot read', () => {
  let server: TestServer;
  let runtime: AgentRuntime;
  let gatewayFetch: typeof fetch;
  let brokerFetch: typeof fetch;

  beforeAll(async () => {
    server = await startTestServer('sqlite');
    await register(server, { id: 'ops-bot', name: 'Ops bot', owner: 'alice@example.com', roles: ['operator'], code_hashes: [CODE_HASH], toolset: ['tool:crashy/*', 'http:shop:*:/**'] });
    expect((await server.api('POST', '/v1/servers', { name: 'crashy', transport: 'stdio', command: [process.execPath, CRASHY] })).status).toBe(201);
    expect((await server.api('PUT', '/v1/secrets/pg_admin', { value: 'postgres://nobody@127.0.0.1:1/none' })).status).toBe(200);
    expect((await server.api('POST', '/v1/connections', { name: 'shop', type: 'postgres', dsn_secret: 'pg_admin', grant_template: 'GRANT USAGE ON SCHEMA public TO {{role}}' })).status).toBe(201);
    runtime = await bootstrap(server, 'ops-bot', { environment: 'dev' });
    const alice = await personToken(server, 'alice@example.com');
    gatewayFetch = runtime.fetchWith(await runtime.obtainMandate({ subjectToken: alice, scope: 'tool:crashy/*', resource: `${server.url}/mcp/crashy` }));
    brokerFetch = runtime.fetchWith(await runtime.obtainMandate({ subjectToken: alice, scope: 'http:shop:POST:/query', resource: `${server.url}/broker/shop` }));
  });
  afterAll(async () => {
    await server.close();
  });

  const refusals = (resource: string) => server.audit.events.filter((e) => e.resource === resource && e.decision === 'deny');

  describe('JSON nested 10000 levels deep is a 400 ERR_JSON_TOO_DEEP everywhere, never a 500', () => {
    it.each([
      ['the admin API', '/v1/agents', deepObject(10_000)],
      ['a public admin endpoint', '/v1/instances', deep(10_000)],
      ['policy explanation', '/v1/policies/explain', deep(257)],
    ])('at %s', async (_what, route, body) => {
      const res = await server.api('POST', route, body);
      expect(res.status).toBe(400);
      expect(await readJson(res)).toMatchObject({ status: 400, code: 'ERR_JSON_TOO_DEEP' });
    });

    it.each([
      ['the token endpoint', '/oauth/token'],
      ['introspection', '/oauth/introspect'],
      ['revocation', '/oauth/revoke'],
    ])('at %s, as an RFC 6749 error (invalid_request), not a problem document', async (_what, route) => {
      const res = await server.api('POST', route, deepObject(10_000));
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await readJson(res)).toEqual({ error: 'invalid_request', error_description: `JSON nested deeper than 256 levels is refused` });
    });

    it('malformed JSON at the token endpoint is an RFC 6749 error too', async () => {
      const res = await server.api('POST', '/oauth/token', '{"grant_type":', { 'content-type': 'application/json' });
      expect(res.status).toBe(400);
      expect((await readJson(res)).error).toBe('invalid_request');
    });

    it('in YAML bodies too', async () => {
      const res = await server.api('PUT', '/v1/agents', `${'- '.repeat(1)}${'['.repeat(300)}1${']'.repeat(300)}\n`, { 'content-type': 'application/yaml' });
      expect(res.status).toBe(400);
      expect((await readJson(res)).code).toBe('ERR_JSON_TOO_DEEP');
    });

    it('at the gateway: a JSON-RPC parse error, audited on the caller chain', async () => {
      const res = await gatewayFetch(`${server.url}/mcp/crashy`, { method: 'POST', headers: MCP_HEADERS, body: deepObject(10_000) });
      expect(res.status).toBe(400);
      expect(await readJson(res)).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error: JSON nested deeper than 256 levels', data: { code: 'ERR_JSON_TOO_DEEP' } } });
      expect(refusals('crashy').at(-1)).toMatchObject({ type: 'tool.decision', denial_reason: 'ERR_JSON_TOO_DEEP', actor: { instance: runtime.instanceId } });
    });

    it('at the broker, audited on the caller chain', async () => {
      const res = await brokerFetch(`${server.url}/broker/shop/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: deep(10_000) });
      expect(res.status).toBe(400);
      expect(await readJson(res)).toMatchObject({ error: 'ERR_JSON_TOO_DEEP' });
      expect(refusals('shop POST /query').at(-1)).toMatchObject({ type: 'http.decision', denial_reason: 'ERR_JSON_TOO_DEEP', actor: { instance: runtime.instanceId } });
    });
  });

  describe('JSON-RPC 2.0 on the MCP endpoint', () => {
    it.each([
      ['malformed JSON', '{"jsonrpc": "2.0", "id": 1, "method": ', -32700, 'ERR_MALFORMED_JSON'],
      ['an empty body', '', -32700, 'ERR_MALFORMED_JSON'],
      ['a prototype-poisoning member', '{"jsonrpc": "2.0", "id": 1, "method": "ping", "__proto__": {"polluted": true}}', -32700, 'ERR_MALFORMED_JSON'],
      ['an object without method', '{"jsonrpc": "2.0", "id": 1, "params": {}}', -32600, 'ERR_JSONRPC_INVALID_REQUEST'],
      ['an empty batch', '[]', -32600, 'ERR_JSONRPC_INVALID_REQUEST'],
      ['a batch with a member that is no request', '[{"jsonrpc": "2.0", "id": 1, "method": "ping"}, 7]', -32600, 'ERR_JSONRPC_INVALID_REQUEST'],
    ])('answers %s with HTTP 400 and its JSON-RPC error, audited', async (_what, body, code, mandateCode) => {
      const before = refusals('crashy').length;
      const res = await gatewayFetch(`${server.url}/mcp/crashy`, { method: 'POST', headers: MCP_HEADERS, body });
      expect(res.status).toBe(400);
      const answer = await readJson(res);
      expect(answer).toMatchObject({ jsonrpc: '2.0', id: null, error: { code, data: { code: mandateCode } } });
      expect(refusals('crashy').slice(before).map((e) => e.denial_reason)).toEqual([mandateCode]);
    });

    it('answers a body it cannot read with a 401 challenge when no mandate comes with it, and audits nothing', async () => {
      const before = server.audit.events.length;
      const res = await fetch(`${server.url}/mcp/crashy`, { method: 'POST', headers: MCP_HEADERS, body: '[]' });
      expect(res.status).toBe(401);
      expect(server.audit.events.length).toBe(before);
    });
  });

  describe('a call whose arguments cannot be canonicalized is refused, audited, and not forwarded', () => {
    it('at the gateway (a lone surrogate in a tool argument)', async () => {
      const client = new Client({ name: 'agent', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp/crashy`), { fetch: gatewayFetch }));
      const result = (await client.callTool({ name: 'hello', arguments: { name: 'x\ud800' } })) as CallToolResult;
      await client.close();
      expect(result.isError).toBe(true);
      expect((result.content[0] as { text: string }).text).toBe('Mandate refused this call: the arguments cannot be read: cannot canonicalize $.name: string has a lone surrogate');
      expect(refusals('crashy/hello').map((e) => e.denial_reason)).toEqual(['ERR_JCS_LONE_SURROGATE']);
      expect(server.audit.events.some((e) => e.type === 'tool.result' && e.resource === 'crashy/hello')).toBe(false);
    });

    it('at the broker (a lone surrogate in the SQL), with a 400', async () => {
      const res = await brokerFetch(`${server.url}/broker/shop/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"sql": "select \'\\ud800\'"}' });
      expect(res.status).toBe(400);
      expect(await readJson(res)).toEqual({ error: 'ERR_JCS_LONE_SURROGATE', message: 'the arguments cannot be read: cannot canonicalize $.sql: string has a lone surrogate' });
      expect(refusals('shop POST /query').at(-1)).toMatchObject({ type: 'http.decision', denial_reason: 'ERR_JCS_LONE_SURROGATE' });
      expect(server.audit.events.some((e) => e.type === 'http.result')).toBe(false);
    });
  });
});
