import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentRuntime, type Mandate } from '../src/sdk/runtime.ts';
import { startUpstream } from './broker.peers.ts';
import { CODE_HASH } from './fixtures.ts';
import { readJson } from './harness.ts';
import { type PrivatePostgres, privatePostgresAvailable, startPrivatePostgres } from './private-postgres.ts';
import { adminApi, adminTokenOf, brokerCall, clusterEnv, mandateAt, PUBLIC, type Replica, startReplica, stopReplica } from './replicas.kit.ts';

/**
 * PostgreSQL restarted under load, with two replicas as processes: calls fail while it is down
 * (503, never an allow without its audit event), readiness says so, and both replicas resynchronize
 * and serve again once it is back. The server is the test's own (initdb in a temporary directory)
 * so that stopping it does not disturb the machine's shared PostgreSQL, which other tests use.
 */
const available = privatePostgresAvailable();
if (!available && process.env.CI === 'true') throw new Error('PostgreSQL server binaries (initdb, pg_ctl) are required under CI');
const SCOPE = 'http:ledger:*:/**';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.runIf(available)('PostgreSQL restarted under load', () => {
  let server: PrivatePostgres;
  let a: Replica;
  let b: Replica;
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let runtime: AgentRuntime;
  let mandate: Mandate;
  let api: ReturnType<typeof adminApi>;

  beforeAll(async () => {
    server = await startPrivatePostgres();
    upstream = await startUpstream('unused');
    const env = clusterEnv(server.url, 'mandate');
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    await client.query('CREATE SCHEMA mandate');
    await client.end();
    a = await startReplica('a', env);
    api = adminApi(adminTokenOf(a));
    b = await startReplica('b', env);
    const card = { id: 'ledger-bot', name: 'Ledger bot', owner: 'alice@example.com', roles: ['operator'], code_hashes: [CODE_HASH], toolset: [SCOPE] };
    expect((await api(a, 'POST', '/v1/agents', card)).status).toBe(201);
    expect((await api(a, 'POST', '/v1/connections', { name: 'ledger', base_url: `${upstream.url}/api`, allow: ['GET /**'] })).status).toBe(201);
    const join = await readJson(await api(b, 'POST', '/v1/agents/ledger-bot/join-tokens', {}));
    runtime = await AgentRuntime.bootstrap(a.url, { agent_id: 'ledger-bot', join_token: join.token, code_hash: CODE_HASH, environment: 'dev' });
    const person = (await readJson(await api(b, 'POST', '/v1/users/token', { subject: 'alice@example.com' }))).token;
    mandate = await mandateAt(a, runtime, { person, scope: SCOPE, resource: `${PUBLIC}/broker/ledger` });
  });

  afterAll(async () => {
    await Promise.all([a, b].map((r) => stopReplica(r)));
    await upstream?.close();
    await server?.close();
  });

  it('gives errors while the database is down, never an unaudited allow, and serves again once it is back', async () => {
    const outcomes: Array<{ path: string; status: number; error?: string; sent: number; answered: number }> = [];
    let stop = false;
    let n = 0;
    const worker = async (i: number) => {
      while (!stop) {
        const path = `/items/r-${n++}`;
        const sent = performance.now();
        const res = await brokerCall(i % 2 ? a : b, runtime, mandate, 'GET', `/broker/ledger${path}`).catch(() => undefined);
        if (!res) continue;
        const body = (await res.json().catch(() => ({}))) as { error?: string };
        outcomes.push({ path, status: res.status, ...(body.error ? { error: body.error } : {}), sent, answered: performance.now() });
        if (res.status !== 200) await sleep(20);
      }
    };
    const workers = Array.from({ length: 6 }, (_, i) => worker(i));
    const okBefore = () => outcomes.filter((o) => o.status === 200).length;
    while (okBefore() < 30) await sleep(20);

    await server.stop();
    const downFrom = performance.now();
    await sleep(1_500);
    const readiness = await Promise.all([a, b].map(async (r) => (await fetch(`${r.url}/readyz`)).status));
    const downUntil = performance.now();
    await server.start();

    // Both replicas resynchronize, then serve again.
    const deadline = Date.now() + 30_000;
    for (const replica of [a, b]) {
      while (Date.now() < deadline && (await fetch(`${replica.url}/readyz`)).status !== 200) await sleep(100);
    }
    const afterUp = outcomes.length;
    while (Date.now() < deadline && outcomes.slice(afterUp).filter((o) => o.status === 200).length < 20) await sleep(50);
    stop = true;
    await Promise.all(workers);

    expect(readiness).toEqual([503, 503]);
    // Calls sent and answered while the server was down.
    const during = outcomes.filter((o) => o.sent >= downFrom && o.answered <= downUntil);
    expect(during.length).toBeGreaterThan(0);
    expect(during.filter((o) => o.status === 200)).toEqual([]);
    // Every refusal is an honest "unavailable", never a verdict on the agent.
    for (const o of outcomes.filter((x) => x.status !== 200)) expect([503]).toContain(o.status);
    expect(outcomes.slice(afterUp).filter((o) => o.status === 200).length).toBeGreaterThanOrEqual(20);

    // Whatever reached the upstream was decided and audited first; every acknowledged call is in the log.
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      const { rows } = await client.query("SELECT type, decision, resource FROM mandate.audit_events WHERE resource LIKE 'ledger GET /items/r-%'");
      const allowed = new Set(rows.filter((r) => r.type === 'http.decision' && r.decision === 'allow').map((r) => String(r.resource).slice('ledger GET '.length)));
      const results = new Set(rows.filter((r) => r.type === 'http.result').map((r) => String(r.resource).slice('ledger GET '.length)));
      const reached = upstream.received.map((r) => r.url.replace(/^\/api/, '')).filter((p) => p.startsWith('/items/r-'));
      expect(reached.filter((p) => !allowed.has(p))).toEqual([]);
      const acknowledged = outcomes.filter((o) => o.status === 200).map((o) => o.path);
      expect(acknowledged.filter((p) => !allowed.has(p) || !results.has(p))).toEqual([]);
    } finally {
      await client.end();
    }
    expect(await readJson(await api(a, 'GET', '/v1/audit/verify'))).toMatchObject({ ok: true });
  });
});
