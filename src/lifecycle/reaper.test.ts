import { afterEach, describe, expect, it, vi } from 'vitest';
import { openTestStore, type TestStore } from '../../test/harness.ts';
import { MemoryAuditWriter } from '../audit/memory-writer.ts';
import type { LifecycleDeps } from './deps.ts';
import { scheduleReaper } from './reaper.ts';

const NOW = new Date('2031-05-01T00:00:00Z');
const OFF = { instanceIdleSeconds: 0, agentUnusedDays: 0, suspendUnused: false };

describe('the scheduled clean-up', () => {
  let t: TestStore | undefined;
  afterEach(async () => {
    vi.useRealTimers();
    await t?.cleanup();
  });

  const setUp = async () => {
    t = await openTestStore('sqlite');
    const store = t.store;
    const audit = new MemoryAuditWriter(() => NOW);
    const deps: LifecycleDeps = { store, audit, now: () => NOW, changes: { transaction: (work) => store.transaction((trx) => work(trx, async () => {})) } };
    const expired = (id: string) => ({ id, agent_id: 'a', secret_hash: 'x', uses_left: 1, expires_at: '2031-01-01T00:00:00Z', created_at: '2031-01-01T00:00:00Z' });
    await store.db.insertInto('join_tokens').values([expired('j1')]).execute();
    return { deps, audit, addExpired: (id: string) => store.db.insertInto('join_tokens').values([expired(id)]).execute() };
  };

  it('runs every interval, not before, and stops when told', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const { deps, audit, addExpired } = await setUp();
    const schedule = scheduleReaper(deps, OFF, 60, () => {});
    await vi.advanceTimersByTimeAsync(59_000);
    expect(audit.ofType('lifecycle.purged')).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1_000);
    await vi.waitFor(() => expect(audit.ofType('lifecycle.purged')).toHaveLength(1));
    await schedule.stop();
    await addExpired('j2');
    await vi.advanceTimersByTimeAsync(120_000);
    expect(audit.ofType('lifecycle.purged')).toHaveLength(1);
  });

  it('does nothing when the interval is 0, and keeps a shorter one at its 60 s floor', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const { deps, audit } = await setUp();
    const off = scheduleReaper(deps, OFF, 0, () => {});
    const fast = scheduleReaper(deps, OFF, 1, () => {});
    await vi.advanceTimersByTimeAsync(30_000);
    expect(audit.events).toHaveLength(0);
    await fast.stop();
    await off.stop();
  });

  it('reports a failed run and tries again at the next interval', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const { deps } = await setUp();
    const errors: unknown[] = [];
    let fail = true;
    const flaky: LifecycleDeps = { ...deps, now: () => { if (fail) throw new Error('clock broke'); return NOW; } };
    const schedule = scheduleReaper(flaky, OFF, 60, (e) => errors.push(e));
    await vi.advanceTimersByTimeAsync(60_000);
    await vi.waitFor(() => expect(errors).toHaveLength(1));
    fail = false;
    await vi.advanceTimersByTimeAsync(60_000);
    await schedule.stop();
    expect(errors).toHaveLength(1);
  });
});
