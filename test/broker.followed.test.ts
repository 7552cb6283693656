import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Mandate } from '../src/sdk/runtime.ts';
import { AgentRuntime } from '../src/sdk/runtime.ts';
import { startUpstream } from './broker.peers.ts';
import { CODE_HASH, bootstrap, personToken, register } from './fixtures.ts';
import { PG_URL, postgresAvailable, readJson, startTestServer, type TestServer, uniqueSchema } from './harness.ts';
import { adminApi, adminTokenOf, brokerCall, clusterEnv, dropClusterSchema, mandateAt, openClusterSchema, PUBLIC, type Replica, startReplica, stopReplica, within } from './replicas.kit.ts';

/**
 * The broker keeps connection specs and sealed secrets in memory, followed by the change feed:
 * a rotated secret is injected by the next call and a removed connection refused, on the replica
 * that made the change and on every other one.
 */
const OLD = 'tok-old-8f2c1e9d7b6a5c4d3e2f1a0b';
const NEW = 'tok-new-1a2b3c4d5e6f7a8b9c0d1e2f';
const SCOPE = 'http:cached:*:/**';
const spec = (url: string) => ({ name: 'cached', base_url: `${url}/api`, inject: ['header:Authorization=Bearer {{secret:cached_token}}'], allow: ['GET /**'] });

describe('on one server (SQLite)', () => {
  let server: TestServer;
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let agentFetch: typeof fetch;
  const sent = (path: string) => upstream.received.filter((r) => r.url === `/api${path}`).map((r) => r.headers.authorization);

  beforeAll(async () => {
    server = await startTestServer('sqlite');
    upstream = await startUpstream('unused');
    await register(server, { id: 'cache-bot', name: 'Cache bot', owner: 'alice@example.com', environment: 'dev', roles: ['operator'], code_hashes: [CODE_HASH], toolset: [SCOPE] });
    expect((await server.api('PUT', '/v1/secrets/cached_token', { value: OLD })).status).toBe(200);
    expect((await server.api('POST', '/v1/connections', spec(upstream.url))).status).toBe(201);
    const runtime = await bootstrap(server, 'cache-bot', { environment: 'dev' });
    const mandate = await runtime.obtainMandate({ subjectToken: await personToken(server, 'alice@example.com'), scope: SCOPE, resource: `${server.url}/broker` });
    agentFetch = runtime.fetchWith(mandate);
  });

  afterAll(async () => {
    await upstream?.close();
    await server?.close();
  });

  it('injects a rotated secret on the very next call, and refuses a removed one', async () => {
    expect((await agentFetch(`${server.url}/broker/cached/one`)).status).toBe(200);
    expect((await agentFetch(`${server.url}/broker/cached/one`)).status).toBe(200);
    expect(sent('/one')).toEqual([`Bearer ${OLD}`, `Bearer ${OLD}`]);
    expect((await server.api('PUT', '/v1/secrets/cached_token', { value: NEW })).status).toBe(200);
    expect((await agentFetch(`${server.url}/broker/cached/two`)).status).toBe(200);
    expect(sent('/two')).toEqual([`Bearer ${NEW}`]);

    expect((await server.api('DELETE', '/v1/secrets/cached_token')).status).toBe(204);
    const refused = await agentFetch(`${server.url}/broker/cached/three`);
    expect([refused.status, ((await readJson(refused)) as { error?: string }).error]).toEqual([502, 'ERR_BROKER_CREDENTIAL_MISSING']);
    expect(sent('/three')).toEqual([]);
  });

  it('refuses a removed connection on the very next call and serves one added again', async () => {
    expect((await server.api('PUT', '/v1/secrets/cached_token', { value: OLD })).status).toBe(200);
    expect((await agentFetch(`${server.url}/broker/cached/four`)).status).toBe(200);
    expect((await server.api('DELETE', '/v1/connections/cached')).status).toBe(204);
    const refused = await agentFetch(`${server.url}/broker/cached/five`);
    expect([refused.status, ((await readJson(refused)) as { error?: string }).error]).toEqual([404, 'ERR_CONNECTION_NOT_FOUND']);
    expect(sent('/five')).toEqual([]);
    expect((await server.api('POST', '/v1/connections', spec(upstream.url))).status).toBe(201);
    expect((await agentFetch(`${server.url}/broker/cached/six`)).status).toBe(200);
    expect(sent('/six')).toEqual([`Bearer ${OLD}`]);
  });
});

describe.runIf(await postgresAvailable())('on two replicas over one PostgreSQL', () => {
  const schema = uniqueSchema();
  let a: Replica;
  let b: Replica;
  let api: ReturnType<typeof adminApi>;
  let runtime: AgentRuntime;
  let mandate: Mandate;
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let db: pg.Client;
  const call = (at: Replica, path: string) => brokerCall(at, runtime, mandate, 'GET', `/broker/cached${path}`);
  const sent = (path: string) => upstream.received.filter((r) => r.url === `/api${path}`).map((r) => r.headers.authorization);

  beforeAll(async () => {
    db = await openClusterSchema(PG_URL, schema);
    upstream = await startUpstream('unused');
    const env = clusterEnv(PG_URL, schema);
    a = await startReplica('a', env);
    api = adminApi(adminTokenOf(a));
    b = await startReplica('b', env);
    const card = { id: 'cache-bot', name: 'Cache bot', owner: 'alice@example.com', roles: ['operator'], code_hashes: [CODE_HASH], toolset: [SCOPE] };
    expect((await api(a, 'POST', '/v1/agents', card)).status).toBe(201);
    expect((await api(a, 'PUT', '/v1/secrets/cached_token', { value: OLD })).status).toBe(200);
    expect((await api(a, 'POST', '/v1/connections', spec(upstream.url))).status).toBe(201);
    const join = await readJson(await api(a, 'POST', '/v1/agents/cache-bot/join-tokens', {}));
    runtime = await AgentRuntime.bootstrap(a.url, { agent_id: 'cache-bot', join_token: join.token, code_hash: CODE_HASH, environment: 'dev' as const });
    const person = (await readJson(await api(a, 'POST', '/v1/users/token', { subject: 'alice@example.com' }))).token;
    mandate = await mandateAt(a, runtime, { person, scope: SCOPE, resource: `${PUBLIC}/broker/cached` });
  }, 120_000);

  afterAll(async () => {
    await Promise.all([a, b].map((r) => stopReplica(r)));
    await upstream?.close();
    await dropClusterSchema(db, schema);
  });

  it('injects on B a secret rotated on A once the change reaches B, long before any expiry', async () => {
    // B has read (and kept) the old value.
    expect((await call(b, '/warm')).status).toBe(200);
    expect((await call(b, '/warm')).status).toBe(200);
    expect(sent('/warm')).toEqual([`Bearer ${OLD}`, `Bearer ${OLD}`]);
    expect((await api(a, 'PUT', '/v1/secrets/cached_token', { value: NEW })).status).toBe(200);
    // Well under the 10 s expiry of a kept entry: only the change feed can have made B read again.
    const took = await within(2_000, async () => {
      expect((await call(b, '/rotated')).status).toBe(200);
      return sent('/rotated').at(-1) === `Bearer ${NEW}`;
    });
    expect(took).toBeLessThan(2_000);
    expect((await call(b, '/after')).status).toBe(200);
    expect(sent('/after')).toEqual([`Bearer ${NEW}`]);
  });

  it('refuses on B a connection removed on A', async () => {
    expect((await call(b, '/before-remove')).status).toBe(200);
    expect((await api(a, 'DELETE', '/v1/connections/cached')).status).toBe(204);
    const took = await within(2_000, async () => (await call(b, '/removed')).status === 404);
    expect(took).toBeLessThan(2_000);
    const refused = await call(b, '/removed');
    expect([refused.status, ((await readJson(refused)) as { error?: string }).error]).toEqual([404, 'ERR_CONNECTION_NOT_FOUND']);
    const forwardedAfter = sent('/removed').length;
    expect((await call(b, '/removed')).status).toBe(404);
    expect(sent('/removed').length).toBe(forwardedAfter);
  });
});
