import { afterEach, describe, expect, it } from 'vitest';
import { dialects, openTestStore, type TestStore } from '../../test/harness.ts';
import { StoreAuditWriter } from '../audit/store-writer.ts';
import { agentsRepository } from './repositories/agents.ts';
import { trailSinksRepository } from './repositories/trail-sinks.ts';

const sink = { name: 'siem', kind: 'syslog-tcp', format: 'jsonl', settings: '{"address":"127.0.0.1:514"}', events: '[]', environments: '[]', secret_sealed: null };
const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds));
const every = { types: [], environments: [] };

async function agent(t: TestStore, id: string, environment: string) {
  const now = at(0).toISOString();
  await agentsRepository(t.store.db).insert({
    id, name: id, owner: 'alice', purpose: 'test', environment, model: null, version: null, code_hashes: '[]', config_hashes: '[]', toolset: '[]', roles: '[]',
    may_delegate_to: '[]', on_behalf_of: 'none', max_token_lifetime: 300, default_budget: 0, status: 'active', spec_hash: 'x', created_at: now, updated_at: now,
  });
}

/** Appends `n` events by `agentId` (its instance's chain) of the given type, committed. */
async function append(t: TestStore, n: number, agentId: string, type = 'tool.decision') {
  const writer = new StoreAuditWriter(t.store);
  for (let i = 0; i < n; i++) {
    await writer.append({ chain: `instance:${agentId}-1`, type, actor: { agent: agentId, instance: `${agentId}-1`, person: 'alice', delegation: [] }, action: 'tools/call', resource: `t${i}`, status: 'success', decision: 'allow' });
  }
  await writer.close();
}

describe.each(await dialects())('trail sink storage on %s', (dialect) => {
  let t: TestStore | undefined;
  afterEach(async () => {
    await t?.cleanup();
    t = undefined;
  });

  it('keeps a sink with its cursor and refuses a second one of the same name', async () => {
    t = await openTestStore(dialect);
    const repo = trailSinksRepository(t.store.db);
    expect(await repo.insert(sink, -1, at(0))).toBe(true);
    expect(await repo.insert({ ...sink, kind: 'otlp-logs' }, 4, at(1))).toBe(false);
    expect(await repo.find('siem')).toMatchObject({ kind: 'syslog-tcp', delivered_through: -1, delivered_count: 0, failures: 0, errors_count: 0, paused_at: null });
    expect((await repo.list()).map((r) => r.name)).toEqual(['siem']);
    expect(await repo.remove('siem')).toBe(true);
    expect(await repo.remove('siem')).toBe(false);
  });

  it('lets one owner at a time hold the lease, none while paused', async () => {
    t = await openTestStore(dialect);
    const repo = trailSinksRepository(t.store.db);
    await repo.insert(sink, -1, at(0));
    expect(await repo.claimLease('siem', 'a', at(0), 30)).toBe(true);
    expect(await repo.claimLease('siem', 'b', at(10), 30)).toBe(false);
    expect(await repo.claimLease('siem', 'b', at(31), 30)).toBe(true);
    await repo.releaseLease('siem', 'b');
    await repo.setPaused('siem', true, at(32));
    expect(await repo.claimLease('siem', 'a', at(33), 30)).toBe(false);
    await repo.setPaused('siem', false, at(34));
    expect(await repo.claimLease('siem', 'a', at(35), 30)).toBe(true);
  });

  it('moves the cursor only forward and only for the lease holder; counts failures', async () => {
    t = await openTestStore(dialect);
    const repo = trailSinksRepository(t.store.db);
    await repo.insert(sink, -1, at(0));
    await repo.claimLease('siem', 'a', at(0), 30);
    expect(await repo.recordFailure('siem', 'a', 'the receiver could not be reached (ECONNREFUSED)', at(1))).toBe(1);
    expect(await repo.recordFailure('siem', 'a', 'again', at(2))).toBe(2);
    expect(await repo.advance('siem', 'b', 5, 5, at(3))).toBe(false);
    expect(await repo.advance('siem', 'a', 5, 6, at(3))).toBe(true);
    expect(await repo.advance('siem', 'a', 4, 1, at(4))).toBe(false);
    expect(await repo.find('siem')).toMatchObject({ delivered_through: 5, delivered_count: 6, failures: 0, errors_count: 2, last_error: 'again' });
  });

  it('reads the trail after a cursor in log order, filtered by type and by the agent’s environment', async () => {
    t = await openTestStore(dialect);
    const repo = trailSinksRepository(t.store.db);
    await agent(t, 'prod-bot', 'prod');
    await agent(t, 'dev-bot', 'dev');
    await append(t, 3, 'prod-bot');
    await append(t, 2, 'dev-bot');
    await append(t, 1, 'prod-bot', 'anomaly.detected');
    const size = await repo.trailSize();
    expect(size).toBe(6);
    const everything = await repo.trailAfter(-1, size, every, 100);
    expect(everything.map((r) => r.position)).toEqual([0, 1, 2, 3, 4, 5]);
    expect((await repo.trailAfter(1, size, every, 2)).map((r) => r.position)).toEqual([2, 3]);
    expect((await repo.trailAfter(-1, size, { types: [], environments: ['prod'] }, 100)).map((r) => r.position)).toEqual([0, 1, 2, 5]);
    expect((await repo.trailAfter(-1, size, { types: ['anomaly.detected'], environments: [] }, 100)).map((r) => r.type)).toEqual(['anomaly.detected']);
    expect((await repo.trailAfter(-1, 3, every, 100)).length).toBe(3);
    expect(await repo.pending(2, { types: [], environments: ['dev'] })).toMatchObject({ count: 2 });
    expect((await repo.pending(5, every)).count).toBe(0);
  });
});
