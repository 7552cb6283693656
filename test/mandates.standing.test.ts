import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDpopProof, generateDpopKeyPair } from '../src/sdk/dpop.ts';
import type { AgentRuntime, Mandate } from '../src/sdk/runtime.ts';
import { CODE_HASH, bootstrap, personToken, register } from './fixtures.ts';
import { startTestServer, type TestServer } from './harness.ts';

/**
 * Issue 14: a mandate that no longer stands (revoked, expired) is refused at the gateway and the
 * broker, and the refusal is audited on its holder's chain like every other refusal, but only when
 * the mandate is authentic and its holder's DPoP proof verifies: nobody else can write to that chain.
 */
const CRASHY = path.resolve(import.meta.dirname, 'peers/crashy-server.ts');
const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const CALL = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'hello', arguments: { name: 'x' } } });
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

describe('refusals of mandates that no longer stand', () => {
  let clock = Date.now();
  let server: TestServer;
  let runtime: AgentRuntime;
  let alice: string;
  let gateway: string;
  let broker: string;

  beforeAll(async () => {
    server = await startTestServer('sqlite', { now: () => new Date(clock) });
    await register(server, { id: 'ops-bot', name: 'Ops bot', owner: 'alice@example.com', roles: ['operator'], code_hashes: [CODE_HASH], toolset: ['tool:crashy/*', 'http:shop:*:/**'] });
    expect((await server.api('POST', '/v1/servers', { name: 'crashy', transport: 'stdio', command: [process.execPath, CRASHY] })).status).toBe(201);
    expect((await server.api('PUT', '/v1/secrets/pg_admin', { value: 'postgres://nobody@127.0.0.1:1/none' })).status).toBe(200);
    expect((await server.api('POST', '/v1/connections', { name: 'shop', type: 'postgres', dsn_secret: 'pg_admin', grant_template: 'GRANT USAGE ON SCHEMA public TO {{role}}' })).status).toBe(201);
    runtime = await bootstrap(server, 'ops-bot', { environment: 'dev' });
    alice = await personToken(server, 'alice@example.com');
    gateway = `${server.url}/mcp/crashy`;
    broker = `${server.url}/broker/shop`;
  });
  afterAll(async () => {
    await server.close();
  });

  const obtain = (scope: string, resource: string) => runtime.obtainMandate({ subjectToken: alice, scope, resource });
  const revoke = async (mandate: Mandate) =>
    expect((await server.api('POST', '/oauth/revoke', form({ token: mandate.token }), { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(200);
  const refusalsOf = (code: string) => server.audit.events.filter((e) => e.denial_reason === code);

  it('audits a revoked mandate refused at the gateway, naming the tool it asked for', async () => {
    const mandate = await obtain('tool:crashy/*', gateway);
    await revoke(mandate);
    const res = await runtime.fetchWith(mandate)(gateway, { method: 'POST', headers: MCP_HEADERS, body: CALL });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(refusalsOf('ERR_TOKEN_REVOKED')).toEqual([
      expect.objectContaining({ type: 'tool.decision', decision: 'deny', status: 'failure', resource: 'crashy/hello', actor: expect.objectContaining({ instance: runtime.instanceId, agent: 'ops-bot', person: 'alice@example.com' }) }),
    ]);
  });

  it('audits a revoked mandate refused at the broker', async () => {
    const mandate = await obtain('http:shop:POST:/query', broker);
    await revoke(mandate);
    const res = await runtime.fetchWith(mandate)(`${broker}/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"sql":"select 1"}' });
    expect(res.status).toBe(401);
    expect(refusalsOf('ERR_TOKEN_REVOKED').at(-1)).toMatchObject({ type: 'http.decision', decision: 'deny', resource: 'shop POST /query', actor: { instance: runtime.instanceId } });
  });

  it('audits an expired mandate presented by its holder, and nothing when another key presents it', async () => {
    const mandate = await obtain('tool:crashy/*', gateway);
    clock += 2 * 60 * 60 * 1000;
    const send = (key: { privateKey: typeof runtime.key.privateKey; publicJwk: typeof runtime.key.publicJwk }) =>
      fetch(gateway, {
        method: 'POST',
        headers: { ...MCP_HEADERS, authorization: `DPoP ${mandate.token}`, dpop: createDpopProof({ ...key, htm: 'POST', htu: gateway, accessToken: mandate.token, now: new Date(clock) }) },
        body: CALL,
      });
    const stolen = await send(generateDpopKeyPair());
    expect(stolen.status).toBe(401);
    expect(refusalsOf('ERR_TOKEN_EXPIRED')).toEqual([]);
    const held = await send(runtime.key);
    expect(held.status).toBe(401);
    expect(held.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(refusalsOf('ERR_TOKEN_EXPIRED')).toEqual([expect.objectContaining({ type: 'tool.decision', decision: 'deny', resource: 'crashy/hello', actor: expect.objectContaining({ instance: runtime.instanceId }) })]);
  });

  it('audits an expired mandate for the whole gateway too', async () => {
    clock = Date.now();
    const mandate = await obtain('tool:crashy/*', `${server.url}/mcp`);
    clock += 2 * 60 * 60 * 1000;
    const before = refusalsOf('ERR_TOKEN_EXPIRED').length;
    const dpop = createDpopProof({ ...runtime.key, htm: 'POST', htu: gateway, accessToken: mandate.token, now: new Date(clock) });
    const res = await fetch(gateway, { method: 'POST', headers: { ...MCP_HEADERS, authorization: `DPoP ${mandate.token}`, dpop }, body: CALL });
    expect(res.status).toBe(401);
    expect(refusalsOf('ERR_TOKEN_EXPIRED').slice(before)).toEqual([expect.objectContaining({ resource: 'crashy/hello', actor: expect.objectContaining({ instance: runtime.instanceId }) })]);
  });

  it('audits nothing for a token that is not an authentic mandate', async () => {
    clock = Date.now();
    const before = server.audit.events.length;
    const mandate = await obtain('tool:crashy/*', gateway);
    const [header, payload] = mandate.token.split('.');
    const forged = `${header}.${payload}.${Buffer.alloc(64).toString('base64url')}`;
    const res = await runtime.fetchWith({ ...mandate, token: forged })(gateway, { method: 'POST', headers: MCP_HEADERS, body: CALL });
    expect(res.status).toBe(401);
    expect(server.audit.events.slice(before).filter((e) => e.decision === 'deny')).toEqual([]);
  });
});
