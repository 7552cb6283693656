import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore, type TestStore } from '../../test/harness.ts';
import { MemoryAuditWriter } from '../audit/memory-writer.ts';
import type { FeedStatus } from '../cluster/feed.ts';
import { Alerts } from './alerts.ts';
import { parseAlertConfig } from './config.ts';

let testStore: TestStore;
beforeAll(async () => {
  testStore = await openTestStore('sqlite');
});
afterAll(() => testStore?.cleanup());

/** A frozen clock, the in-memory trail, a real store for cooldowns, a replica's feed status. */
function scene(status: FeedStatus, config: object = {}) {
  let now = new Date('2026-06-01T12:00:00.000Z');
  const audit = new MemoryAuditWriter(() => now);
  const alerts = new Alerts(
    {
      audit,
      db: testStore.store.db,
      now: () => now,
      logger: { warn: () => {} },
      feed: { id: 'replica-1', status: () => status },
      sinkLags: [{ sinkLags: async () => [{ sink: 'siem', events: 5, oldestSeconds: 2 }] }],
    },
    parseAlertConfig({ approvalBacklog: { enabled: false }, cooldownSeconds: 60, ...config }),
  );
  const raised = () => audit.events.filter((e) => e.type === 'alert.raised').map((e) => `${e.data?.rule} ${e.data?.severity} ${e.resource}`);
  return { alerts, raised, tick: (seconds: number) => (now = new Date(now.getTime() + seconds * 1000)) };
}

describe('alert rules', () => {
  it('raise a critical alert for a replica unsynchronized longer than allowed, once per cooldown', async () => {
    const { alerts, raised, tick } = scene({ synchronized: false, since: '2026-06-01T11:59:50.000Z', reason: 'connection lost' }, { sinkLag: { enabled: false } });
    // Another replica over the same store: within the cooldown it raises nothing for the same subject.
    const other = scene({ synchronized: false, since: '2026-06-01T11:59:50.000Z', reason: 'connection lost' }, { sinkLag: { enabled: false } });
    await alerts.check();
    expect(raised()).toEqual([]);
    tick(25);
    await alerts.check();
    expect(raised()).toEqual(['replica-unsynchronized critical replica-1']);
    other.tick(25);
    await other.alerts.check();
    expect(other.raised()).toEqual([]);
    tick(30);
    await alerts.check();
    expect(raised()).toHaveLength(1);
    tick(31);
    await alerts.check();
    expect(raised()).toHaveLength(2);
  });

  it('stay quiet for a synchronized replica and a sink within its limits', async () => {
    const { alerts, raised } = scene({ synchronized: true, since: '2026-06-01T11:00:00.000Z' }, { sinkLag: { events: 10, oldestSeconds: 60 } });
    await alerts.check();
    expect(raised()).toEqual([]);
  });

  it('raise a sink-lag alert from a sink lag source', async () => {
    const { alerts, raised } = scene({ synchronized: true, since: '2026-06-01T11:00:00.000Z' }, { sinkLag: { events: 4, oldestSeconds: 60 } });
    await alerts.check();
    expect(raised()).toEqual(['sink-lag warning siem']);
  });

  it('make an anomaly whose response suspends critical, whatever its risk', async () => {
    const { alerts, raised } = scene({ synchronized: true, since: '2026-06-01T11:00:00.000Z' }, { anomaly: { minRisk: 90 } });
    const anomaly = (risk: number, response: string) =>
      alerts.observe({
        id: `e${risk}`, time: '2026-06-01T12:00:00.000Z', chain: 'instance:i1', seq: 1, type: 'anomaly.detected',
        actor: { instance: 'i1', agent: `agent-${response}`, person: null, delegation: [] },
        status: 'success', reasons: { risk, message: `burst: 40 calls (response: ${response})` }, prev_hash: '0'.repeat(64), hash: '1'.repeat(64),
      });
    anomaly(40, 'record');
    anomaly(40, 'suspend');
    await new Promise((resolve) => setImmediate(resolve));
    expect(raised()).toEqual(['anomaly critical agent-suspend']);
  });

  it('refuse a rules file with an unknown rule or a bad value', () => {
    expect(() => parseAlertConfig({ refusalBurst: { refusals: 0 } })).toThrow(/alert rules/);
    expect(() => parseAlertConfig({ pager: { enabled: true } })).toThrow(/alert rules/);
  });
});
