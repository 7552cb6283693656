import { afterEach, describe, expect, it } from 'vitest';
import { dialects, openTestStore, type TestStore } from '../../test/harness.ts';
import { findingsRepository, type FindingRow } from './repositories/findings.ts';
import { lifecycleEvidenceRepository } from './repositories/lifecycle-evidence.ts';
import { mandatesRepository } from './repositories/mandates.ts';
import { refusedClientsRepository } from './repositories/refused-clients.ts';
import { reviewsRepository } from './repositories/reviews.ts';

const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-01-02T00:00:00.000Z';

const finding = (over: Partial<FindingRow> = {}): FindingRow => ({
  id: 'f_1', scanner: 'mcp-config', kind: 'mcp-server', fingerprint: 'fp-1', status: 'open', severity: 'medium', title: 't', source: '/x/.mcp.json',
  detail: '{}', first_seen: T0, last_seen: T0, seen_count: 1, agent_id: null, owner: null, reason: null, decided_by: null, decided_at: null, ...over,
});

describe.each(await dialects())('lifecycle repositories on %s', (dialect) => {
  let t: TestStore | undefined;
  afterEach(async () => {
    await t?.cleanup();
    t = undefined;
  });

  it('keeps campaigns and items, decides an item once, closes a campaign once and finds overdue items', async () => {
    t = await openTestStore(dialect);
    const repo = reviewsRepository(t.store.db);
    const item = { campaign_id: 'rev_1', agent_id: 'a', owner: 'o@example.com', status: 'pending', granted: '{}', unused: '[]', removed: null, decided_by: null, decided_at: null, note: null, reminded_at: null };
    await repo.insertCampaign({ id: 'rev_1', environment: 'dev', status: 'open', action: 'suspend', unused_days: 30, due_at: T1, created_by: null, created_at: T0, closed_at: null, report: null }, [item, { ...item, agent_id: 'b' }]);
    expect(await repo.findCampaign('rev_1')).toMatchObject({ unused_days: 30, status: 'open' });
    expect(await repo.overdueItems(T0)).toEqual([]);
    expect((await repo.overdueItems(T1)).map((i) => i.agent_id)).toEqual(['a', 'b']);
    const decide = { status: 'certified', removed: null, decided_by: 'o', decided_at: T0, note: null };
    expect(await repo.decideItem('rev_1', 'a', 'pending', decide)).toBe(true);
    expect(await repo.decideItem('rev_1', 'a', 'pending', decide)).toBe(false);
    expect((await repo.dueCampaigns(T1, T0)).map((c) => c.id)).toEqual(['rev_1']);
    expect(await repo.beginClose('rev_1', T0)).toBe(true);
    expect(await repo.beginClose('rev_1', T0)).toBe(false);
    // A closing that began before `stuckBefore` is taken over; a recent one is left to its closer.
    expect(await repo.dueCampaigns(T1, T0)).toEqual([]);
    expect((await repo.dueCampaigns(T1, T1)).map((c) => c.status)).toEqual(['closing']);
    expect(await repo.beginClose('rev_1', T1, T1)).toBe(true);
    await repo.finishClose('rev_1', '{"signed":true}');
    expect(await repo.findCampaign('rev_1')).toMatchObject({ status: 'closed', report: '{"signed":true}' });
    expect(await repo.dueCampaigns(T1, T1)).toEqual([]);
  });

  it('reports a finding once per fingerprint, counts its sightings, and decides it once', async () => {
    t = await openTestStore(dialect);
    const repo = findingsRepository(t.store.db);
    expect(await repo.report(finding())).toBe(true);
    expect(await repo.report(finding({ id: 'f_2', last_seen: T1 }))).toBe(false);
    expect(await repo.find('f_1')).toMatchObject({ seen_count: 2, last_seen: T1, first_seen: T0 });
    expect(await repo.find('f_2')).toBeUndefined();
    expect(await repo.decide('f_1', { status: 'dismissed', agent_id: null, owner: null, reason: 'known', decided_by: 'x', decided_at: T1 })).toBe(true);
    expect(await repo.decide('f_1', { status: 'claimed', agent_id: 'a', owner: 'o', reason: null, decided_by: 'x', decided_at: T1 })).toBe(false);
    expect(await repo.countByStatus()).toEqual({ dismissed: 1 });
  });

  it('adds refused attempts up per source, kind, resource and code', async () => {
    t = await openTestStore(dialect);
    const repo = refusedClientsRepository(t.store.db);
    const row = { source: '10.0.0.1', kind: 'mcp', resource: 'everything', code: 'ERR_UNAUTHENTICATED', user_agent: 'curl', attempts: 2, first_seen: T0, last_seen: T0 };
    await repo.add(row);
    await repo.add({ ...row, attempts: 3, first_seen: T1, last_seen: T1 });
    await repo.add({ ...row, source: '10.0.0.2', attempts: 1 });
    expect(await repo.since(T0, 10)).toEqual([{ ...row, attempts: 5, last_seen: T1 }, { ...row, source: '10.0.0.2', attempts: 1 }]);
    expect((await repo.since(T1, 10)).map((r) => r.source)).toEqual(['10.0.0.1']);
  });

  it('keeps one hygiene snapshot per day (the latest), newest first, and reads no uses from an empty trail', async () => {
    t = await openTestStore(dialect);
    const repo = lifecycleEvidenceRepository(t.store.db);
    await repo.addSnapshot(T0, '{"a":1}');
    await repo.addSnapshot(T1, '{"a":2}');
    await repo.addSnapshot(T1, '{"a":3}');
    expect(await repo.snapshots(5)).toEqual([{ taken_at: T1, counts: '{"a":3}' }, { taken_at: T0, counts: '{"a":1}' }]);
    expect(await repo.allowedUses(T0)).toEqual([]);
    expect(await repo.allowedUses(T0, [])).toEqual([]);
    expect((await repo.lastActivity()).size).toBe(0);
  });

  it('tells which agent delegated to which from child mandates issued since a time', async () => {
    t = await openTestStore(dialect);
    const mandate = (jti: string, agent: string, parent: string | null, issued: string) => ({
      jti, parent_jti: parent, instance_id: `i-${agent}`, agent_id: agent, sub: 'alice', scope: 'tool:x/y', aud: '[]', budget: 10, depth: parent ? 1 : 0, task_id: null, issued_at: issued, expires_at: T1, revoked_at: null, kid: null,
    });
    const mandates = mandatesRepository(t.store.db);
    await mandates.insert(mandate('p1', 'planner', null, T0));
    await mandates.insert(mandate('c1', 'summarizer', 'p1', T0));
    await mandates.insert(mandate('c2', 'summarizer', 'p1', T1));
    await mandates.insert(mandate('c3', 'coder', 'p1', T0));
    const repo = lifecycleEvidenceRepository(t.store.db);
    expect((await repo.delegations(T0)).sort((a, b) => a.delegate.localeCompare(b.delegate))).toEqual([{ delegator: 'planner', delegate: 'coder' }, { delegator: 'planner', delegate: 'summarizer' }]);
    expect(await repo.delegations(T1)).toEqual([{ delegator: 'planner', delegate: 'summarizer' }]);
    expect(await repo.delegations(T0, ['someone-else'])).toEqual([]);
  });
});
