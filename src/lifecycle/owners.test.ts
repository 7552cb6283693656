import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dialects, openTestStore, type TestStore } from '../../test/harness.ts';
import { MemoryAuditWriter } from '../audit/memory-writer.ts';
import { findAgent, parseAgentCard, registerAgent } from '../registry/agents.ts';
import { type PersonRow, personsRepository } from '../store/repositories/persons.ts';
import type { LifecycleDeps } from './deps.ts';
import { findLeaver, type Leaver, offboard, type OffboardPolicy } from './owners.ts';

const NOW = new Date('2031-06-01T00:00:00Z');
const person = (id: string, email: string, over: Partial<PersonRow> = {}): PersonRow => ({
  id, user_name: email, external_id: null, email, display_name: null, manager: null, active: 1, resource: '{}', version: 1, created_at: NOW.toISOString(), updated_at: NOW.toISOString(), left_at: null, ...over,
});

/** Who takes a leaver's agents, for each setting, over a real store. */
describe.each(await dialects())('handing over the agents of an owner who left (%s)', (dialect) => {
  let t: TestStore;
  let audit: MemoryAuditWriter;
  let deps: LifecycleDeps;
  const leaver = async (key: string) => (await findLeaver(t.store.db, key)) as Leaver;
  const run = (who: Leaver, policy: OffboardPolicy) => offboard(deps, who, policy, 'test');

  beforeEach(async () => {
    t = await openTestStore(dialect);
    audit = new MemoryAuditWriter(() => NOW);
    const store = t.store;
    deps = { store, audit, now: () => NOW, changes: { transaction: (work) => store.transaction((trx) => work(trx, async () => {})) } };
    const persons = personsRepository(store.db);
    await persons.insert(person('p-ann', 'ann@example.com', { manager: 'p-max' }));
    await persons.insert(person('p-max', 'max@example.com', { active: 0, left_at: NOW.toISOString() }));
    await persons.insert(person('p-sam', 'sam@example.com'));
    await registerAgent(store.db, parseAgentCard({ id: 'bot', name: 'bot', owner: 'ann@example.com' }), NOW);
  });
  afterEach(() => t.cleanup());

  it('gives them to the sponsor when the manager left too', async () => {
    const result = await run(await leaver('ann@example.com'), { reassign: 'manager', sponsor: 'sam@example.com', graceSeconds: 60 });
    expect(result.agents).toEqual([{ agent: 'bot', outcome: 'reassigned', owner: 'sam@example.com', previous_owner: 'ann@example.com', due_at: null }]);
    expect((await findAgent(t.store.db, 'bot'))?.owner).toBe('sam@example.com');
    expect(audit.ofType('lifecycle.owner_reassigned')[0]?.reasons?.message).toContain('(the sponsor)');
  });

  it('takes a sponsor Mandate does not know as a person as named, and none who left', async () => {
    expect((await run(await leaver('ann@example.com'), { reassign: 'sponsor', sponsor: 'lead@partner.example', graceSeconds: 60 })).agents[0]?.owner).toBe('lead@partner.example');
    await registerAgent(t.store.db, parseAgentCard({ id: 'bot2', name: 'bot2', owner: 'sam@example.com' }), NOW);
    const gone = await run(await leaver('sam@example.com'), { reassign: 'sponsor', sponsor: 'max@example.com', graceSeconds: 60 });
    expect(gone.agents).toEqual([{ agent: 'bot2', outcome: 'orphaned', owner: 'sam@example.com', previous_owner: 'sam@example.com', due_at: new Date(NOW.getTime() + 60_000).toISOString() }]);
  });

  it('leaves the sponsor’s own agents orphaned when the sponsor leaves, instead of failing', async () => {
    const result = await run(await leaver('ann@example.com'), { reassign: 'sponsor', sponsor: 'ann@example.com', graceSeconds: 60 });
    expect(result.agents.map((a) => a.outcome)).toEqual(['orphaned']);
    await expect(offboard(deps, await leaver('ann@example.com'), { reassign: 'none', graceSeconds: 60 }, 'test', { named: 'ann@example.com' })).rejects.toMatchObject({ code: 'ERR_PERSON_NOT_FOUND' });
  });

  it('suspends at once with no successor and no grace period', async () => {
    const result = await run(await leaver('ann@example.com'), { reassign: 'none', graceSeconds: 0 });
    expect(result.agents.map((a) => a.outcome)).toEqual(['suspended']);
    expect((await findAgent(t.store.db, 'bot'))?.status).toBe('suspended');
    expect(audit.events.map((e) => e.type)).toEqual(['lifecycle.owner_left', 'lifecycle.orphaned', 'lifecycle.suspended']);
  });
});
