import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { AgentRuntime } from '../src/sdk/runtime.ts';
import { startUpstream } from './broker.peers.ts';
import { CODE_HASH } from './fixtures.ts';
import { PG_URL, postgresAvailable, readJson, uniqueSchema } from './harness.ts';
import { adminApi, adminTokenOf, brokerCall, clusterEnv, dropClusterSchema, mandateAt, openClusterSchema, PUBLIC, type Replica, startReplica, stopReplica, within } from './replicas.kit.ts';

/**
 * Issue 19 across replicas: two `mandate serve` processes over one PostgreSQL schema. A revocation
 * made on one is timed on the other from the change's timestamp; an alert both would raise for
 * the shared approval backlog is raised once.
 */
const CONNECTION = 'ledger';
const SCOPE = `http:${CONNECTION}:*:/**`;
const ALERTS = 'checkEverySeconds: 1\ncooldownSeconds: 600\napprovalBacklog: { pending: 0, oldestSeconds: 1 }\n';

/** Sum of one metric's samples whose labels include every pair given. */
async function sample(replica: Replica, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${replica.url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.split(' ').at(-1));
  }
  return sum;
}

describe.runIf(await postgresAvailable())('metrics and alerts across two replicas over one PostgreSQL', () => {
  const schema = uniqueSchema();
  let a: Replica;
  let b: Replica;
  let db: pg.Client;
  let api: ReturnType<typeof adminApi>;
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let person: string;

  const bootstrap = async () => {
    const join = await readJson(await api(a, 'POST', '/v1/agents/ledger-bot/join-tokens', {}));
    return AgentRuntime.bootstrap(a.url, { agent_id: 'ledger-bot', join_token: join.token, code_hash: CODE_HASH, environment: 'dev' as const });
  };

  beforeAll(async () => {
    db = await openClusterSchema(PG_URL, schema);
    upstream = await startUpstream('unused');
    const env = clusterEnv(PG_URL, schema);
    a = await startReplica('a', env, undefined, { 'alerts.yaml': ALERTS });
    api = adminApi(adminTokenOf(a));
    b = await startReplica('b', env, undefined, { 'alerts.yaml': ALERTS });
    const card = { id: 'ledger-bot', name: 'Ledger bot', owner: 'alice@example.com', roles: ['operator'], code_hashes: [CODE_HASH], toolset: [SCOPE] };
    expect((await api(a, 'POST', '/v1/agents', card)).status).toBe(201);
    const connection = { name: CONNECTION, base_url: `${upstream.url}/api`, allow: ['POST /**'], endpoints: [{ match: 'POST /deploy/**', high_impact: true }] };
    expect((await api(b, 'POST', '/v1/connections', connection)).status).toBe(201);
    person = (await readJson(await api(b, 'POST', '/v1/users/token', { subject: 'alice@example.com' }))).token;
  });

  afterAll(async () => {
    await Promise.all([a, b].map((r) => stopReplica(r)));
    await upstream?.close();
    await dropClusterSchema(db, schema);
  });

  it('times a revocation made on one replica from its change to its application on the other', async () => {
    const runtime = await bootstrap();
    const before = await sample(b, 'mandate_revocation_propagation_seconds_count', { kind: 'instance.revoked', origin: 'remote' });
    expect((await api(a, 'POST', `/v1/instances/${runtime.instanceId}/revoke`, {})).status).toBe(200);
    const took = await within(10_000, async () => (await sample(b, 'mandate_revocation_propagation_seconds_count', { kind: 'instance.revoked', origin: 'remote' })) === before + 1);
    expect(took).toBeLessThan(10_000);
    // Applied within seconds of the change (the clocks are one machine's).
    expect(await sample(b, 'mandate_revocation_propagation_seconds_sum', { kind: 'instance.revoked', origin: 'remote' })).toBeLessThan(5);
    expect(await sample(b, 'mandate_change_feed_lag_seconds_count', { origin: 'remote' })).toBeGreaterThanOrEqual(1);
    expect(await sample(a, 'mandate_revocation_propagation_seconds_count', { kind: 'instance.revoked', origin: 'local' })).toBeGreaterThanOrEqual(1);
    for (const replica of [a, b]) expect(await sample(replica, 'mandate_change_feed_synchronized')).toBe(1);
  });

  it('raises the approval-backlog alert once, though both replicas see the backlog', async () => {
    const runtime = await bootstrap();
    const mandate = await mandateAt(a, runtime, { person, scope: SCOPE, resource: `${PUBLIC}/broker/${CONNECTION}` });
    const held = await brokerCall(a, runtime, mandate, 'POST', `/broker/${CONNECTION}/deploy/v2`);
    expect(held.status).toBe(403);
    expect(((await readJson(held)) as { error: string }).error).toBe('ERR_APPROVAL_REQUIRED');
    // Both replicas check every second; the approval is older than 1 s after two checks at most.
    const suppressed = () => Promise.all([a, b].map((r) => sample(r, 'mandate_alerts_suppressed_total', { rule: 'approval-backlog' })));
    const took = await within(15_000, async () => (await suppressed()).every((n) => n >= 1));
    expect(took).toBeLessThan(15_000);
    const { alerts } = (await readJson(await api(b, 'GET', '/v1/alerts?rule=approval-backlog'))) as { alerts: Array<{ subject: string; message: string }> };
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.message).toMatch(/^1 approval\(s\) wait for a person/);
    const raised = await Promise.all([a, b].map((r) => sample(r, 'mandate_alerts_raised_total', { rule: 'approval-backlog' })));
    expect(raised.reduce((x, y) => x + y, 0)).toBe(1);
  });
});
