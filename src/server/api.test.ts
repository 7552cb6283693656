import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects, readJson, startTestServer, type TestServer } from '../../test/harness.ts';
import { createAdminToken } from './admin-tokens.ts';

const card = { id: 'support-bot', name: 'Support bot', owner: 'alice@example.com', environment: 'prod' };

describe.each(await dialects())('admin API over HTTP on %s', (dialect) => {
  let server: TestServer;
  let auditor: string;
  let approver: string;
  beforeAll(async () => {
    server = await startTestServer(dialect);
    const now = new Date();
    auditor = (await createAdminToken(server.ctx.store.db, { name: 'audit', role: 'auditor', now })).token;
    approver = (await createAdminToken(server.ctx.store.db, { name: 'approve', role: 'approver', now }))
      .token;
  });
  afterAll(() => server.close());

  it('refuses a request without an admin token, or with a wrong one, as 401 problem details', async () => {
    const none = await server.api('GET', '/v1/agents', undefined, { authorization: '' });
    expect(none.status).toBe(401);
    expect(none.headers.get('content-type')).toContain('application/problem+json');
    expect(await readJson(none)).toMatchObject({ status: 401, code: 'ERR_UNAUTHENTICATED' });
    const forged = `${server.token.slice(0, -4)}AAAA`;
    const wrong = await server.api('GET', '/v1/agents', undefined, { authorization: `Bearer ${forged}` });
    expect(wrong.status).toBe(401);
  });

  it('registers a card (201), refuses the duplicate (409), and shows it', async () => {
    const created = await server.api('POST', '/v1/agents', card);
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/v1/agents/support-bot');
    const again = await server.api('POST', '/v1/agents', card);
    expect(again.status).toBe(409);
    expect((await readJson(again)).code).toBe('ERR_AGENT_EXISTS');
    const shown = await readJson(await server.api('GET', '/v1/agents/support-bot'));
    expect(shown).toMatchObject({ id: 'support-bot', owner: 'alice@example.com', status: 'active' });
  });

  it('lets an auditor read but not write, and an approver neither', async () => {
    const read = await server.api('GET', '/v1/agents', undefined, { authorization: `Bearer ${auditor}` });
    expect(read.status).toBe(200);
    const write = await server.api('POST', '/v1/agents/support-bot/suspend', undefined, {
      authorization: `Bearer ${auditor}`,
    });
    expect(write.status).toBe(403);
    expect((await readJson(write)).code).toBe('ERR_FORBIDDEN');
    const approverRead = await server.api('GET', '/v1/agents', undefined, {
      authorization: `Bearer ${approver}`,
    });
    expect(approverRead.status).toBe(403);
    expect((await server.api('GET', '/v1/agents/support-bot')).status).toBe(200);
  });

  it('answers malformed JSON, unknown fields and wrong types with 400 naming the field', async () => {
    const malformed = await server.api('POST', '/v1/agents', '{"id": "x",');
    expect(malformed.status).toBe(400);
    expect((await readJson(malformed)).code).toBe('ERR_MALFORMED_JSON');
    const unknown = await server.api('POST', '/v1/agents', { id: 'x', name: 'X', colour: 'red' });
    expect(unknown.status).toBe(400);
    const body = await readJson(unknown);
    expect(body.code).toBe('ERR_VALIDATION');
    expect(body.detail).toContain('colour');
    const wrongType = await server.api('POST', '/v1/agents', { id: 'x', name: 'X', default_budget: 'lots' });
    expect((await readJson(wrongType)).errors[0].path).toBe('default_budget');
    expect((await server.api('GET', '/v1/agents/x')).status).toBe(404);
  });

  it('refuses a prod card without owner and a body over 1 MiB, writing nothing', async () => {
    const noOwner = await server.api('POST', '/v1/agents', {
      id: 'orphan',
      name: 'Orphan',
      environment: 'prod',
    });
    expect(noOwner.status).toBe(400);
    expect((await readJson(noOwner)).code).toBe('ERR_OWNER_REQUIRED');
    const huge = await server.api('POST', '/v1/agents', {
      id: 'big',
      name: 'Big',
      purpose: 'x'.repeat(1024 * 1024 + 10),
    });
    expect(huge.status).toBe(413);
    expect((await readJson(huge)).code).toBe('ERR_BODY_TOO_LARGE');
    const list = await readJson(await server.api('GET', '/v1/agents'));
    expect(list.agents.map((a: { id: string }) => a.id)).toEqual(['support-bot']);
  });

  it('applies a YAML document all or nothing and reports the outcome per agent', async () => {
    const yaml =
      'agents:\n  - id: yaml-bot\n    name: YAML bot\n  - id: support-bot\n    name: Support bot\n    owner: alice@example.com\n    environment: prod\n';
    const res = await server.api('PUT', '/v1/agents', yaml, { 'content-type': 'application/yaml' });
    expect(res.status).toBe(200);
    expect((await readJson(res)).results).toEqual([
      { id: 'yaml-bot', outcome: 'created' },
      { id: 'support-bot', outcome: 'unchanged' },
    ]);
    const broken = await server.api('PUT', '/v1/agents', 'agents:\n  - id: [unclosed\n', {
      'content-type': 'application/yaml',
    });
    expect(broken.status).toBe(400);
    const problem = await readJson(broken);
    expect(problem.code).toBe('ERR_MALFORMED_YAML');
    expect(problem.detail).toMatch(/line \d/);
    const partial = await server.api('PUT', '/v1/agents', {
      agents: [
        { id: 'fine', name: 'Fine' },
        { id: 'bad', name: 'Bad', environment: 'prod' },
      ],
    });
    expect(partial.status).toBe(400);
    expect((await readJson(partial)).errors[0].path).toBe('agents[1].owner');
    expect((await server.api('GET', '/v1/agents/fine')).status).toBe(404);
  });

  it('never sends a stack trace: unknown routes and internal paths give problem details only', async () => {
    const res = await server.api('GET', '/v1/nothing-here');
    expect(res.status).toBe(404);
    const text = await res.text();
    expect(text).not.toMatch(/at .*\.ts:\d+/);
    expect(JSON.parse(text).code).toBe('ERR_NOT_FOUND');
  });

  it('serves health, readiness with the store, metrics, JWKS and the OpenAPI document without a token', async () => {
    expect(await readJson(await fetch(`${server.url}/healthz`))).toEqual({ status: 'ok' });
    expect(await readJson(await fetch(`${server.url}/readyz`))).toMatchObject({ status: 'ready', store: dialect, synchronized: true });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(
      /mandate_http_requests_total\{method="POST",route="\/v1\/agents",status="201"\} 1/,
    );
    const jwks = await readJson(await fetch(`${server.url}/.well-known/jwks.json`));
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    expect(jwks.keys[0].d).toBeUndefined();
    const openapi = await readJson(await fetch(`${server.url}/v1/openapi.json`));
    expect(openapi.openapi).toBe('3.1.0');
    expect(openapi.paths['/v1/agents'].post).toBeDefined();
    expect(openapi.components.schemas.AgentCardSpec.properties.owner).toBeDefined();
  });
});

describe('readiness when the store is gone', () => {
  it('reports 503 once the database cannot answer', async () => {
    const server = await startTestServer('sqlite');
    await server.ctx.store.close();
    const res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(503);
    expect((await readJson(res)).code).toBe('ERR_STORE_UNAVAILABLE');
    await server.close();
  });
});
