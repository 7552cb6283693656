import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listMandates } from '../src/lifecycle/inventory.ts';
import { agentFlagsRepository } from '../src/store/repositories/agent-flags.ts';
import { type AgentRow, agentsRepository } from '../src/store/repositories/agents.ts';
import { inventoryRepository } from '../src/store/repositories/inventory.ts';
import { type PersonRow, personsRepository, scimTokenDigest, setScimTokenDigest } from '../src/store/repositories/persons.ts';
import { reapingRepository } from '../src/store/repositories/reaping.ts';
import { dialects, openTestStore, type TestStore } from './harness.ts';

const T0 = '2031-01-01T00:00:00.000Z';
const T1 = '2031-02-01T00:00:00.000Z';

const person = (id: string, userName: string, over: Partial<PersonRow> = {}): PersonRow => ({
  id, user_name: userName, external_id: null, email: userName, display_name: null, manager: null, active: 1, resource: '{}', version: 1, created_at: T0, updated_at: T0, left_at: null, ...over,
});
const agent = (id: string, owner: string | null, status = 'active'): AgentRow => ({
  id, name: id, owner, purpose: '', environment: 'dev', model: null, version: null, code_hashes: '[]', config_hashes: '[]', toolset: '[]', roles: '[]', may_delegate_to: '[]', on_behalf_of: 'optional', max_token_lifetime: 600, default_budget: 100, status, spec_hash: 'h', created_at: T0, updated_at: T0,
});

/** The lifecycle repositories, one contract on SQLite and PostgreSQL. */
describe.each(await dialects())('lifecycle repositories (%s)', (dialect) => {
  let t: TestStore;
  beforeAll(async () => {
    t = await openTestStore(dialect);
  });
  afterAll(() => t?.cleanup());

  it('keeps persons: unique userName, lookups by owner name, filters and pages, compare-and-set writes', async () => {
    const persons = personsRepository(t.store.db);
    await persons.insert(person('p1', 'ann', { email: 'ann@example.com', external_id: 'x1' }));
    await persons.insert(person('p2', 'bo@example.com', { created_at: T1 }));
    await expect(persons.insert(person('p3', 'ann'))).rejects.toThrow();
    expect((await persons.findByOwner('ann@example.com'))?.id).toBe('p1');
    expect((await persons.findByOwner('bo@example.com'))?.id).toBe('p2');
    expect(await persons.findByOwner('nobody')).toBeUndefined();
    expect((await persons.list({ offset: 0, limit: 10 })).map((p) => p.id)).toEqual(['p1', 'p2']);
    expect((await persons.list({ offset: 1, limit: 10 })).map((p) => p.id)).toEqual(['p2']);
    expect((await persons.list({ externalId: 'x1', offset: 0, limit: 10 })).map((p) => p.id)).toEqual(['p1']);
    expect(await persons.count({ userName: 'ann' })).toBe(1);
    const { id: _i, created_at: _c, version: _v, ...change } = person('p1', 'ann', { active: 0, left_at: T1 });
    expect(await persons.update('p1', 1, change)).toBe(true);
    expect(await persons.update('p1', 1, change)).toBe(false);
    expect((await persons.find('p1'))).toMatchObject({ version: 2, active: 0, left_at: T1 });
    await persons.remove('p2');
    expect(await persons.find('p2')).toBeUndefined();
  });

  it('stores the SCIM token digest and replaces it', async () => {
    expect(await scimTokenDigest(t.store.db)).toBeUndefined();
    await setScimTokenDigest(t.store.db, 'aa');
    await setScimTokenDigest(t.store.db, 'bb');
    expect(await scimTokenDigest(t.store.db)).toBe('bb');
  });

  it('raises a flag once, finds it due, settles it once and lowers it', async () => {
    const flags = agentFlagsRepository(t.store.db);
    expect(await flags.raise({ agent_id: 'a1', flag: 'orphaned', since: T0, reason: 'owner x left', due_at: T1 })).toBe(true);
    expect(await flags.raise({ agent_id: 'a1', flag: 'orphaned', since: T1, reason: 'again', due_at: null })).toBe(false);
    expect(await flags.due('orphaned', T0)).toEqual([]);
    expect((await flags.due('orphaned', T1)).map((f) => [f.agent_id, f.since])).toEqual([['a1', T0]]);
    expect(await flags.settle('a1', 'orphaned', T1)).toBe(true);
    expect(await flags.settle('a1', 'orphaned', T1)).toBe(false);
    expect(await flags.due('orphaned', T1)).toEqual([]);
    expect(await flags.lower('a1', 'orphaned')).toBe(true);
    expect(await flags.list()).toEqual([]);
  });

  it('finds the agents an owner holds whatever the case, and hands one over only from its current owner', async () => {
    const agents = agentsRepository(t.store.db);
    await agents.insert(agent('o1', 'Cy@Example.com'));
    await agents.insert(agent('o2', 'cy@example.com', 'retired'));
    await agents.insert(agent('o3', 'dee@example.com'));
    expect((await agents.ownedBy(['cy@example.com'])).map((a) => a.id)).toEqual(['o1']);
    expect(await agents.changeOwner('o1', 'someone-else', 'dee@example.com', 'h2', T1)).toBe(false);
    expect(await agents.changeOwner('o1', 'Cy@Example.com', 'dee@example.com', 'h2', T1)).toBe(true);
    expect((await agents.ownedBy(['DEE@example.com'])).map((a) => a.id)).toEqual(['o1', 'o3']);
    expect(await agents.changeStatus('o3', 'active', 'suspended', T1)).toBe(true);
    expect(await agents.changeStatus('o3', 'active', 'suspended', T1)).toBe(false);
  });

  it('purges only tokens still there and past expiry', async () => {
    const db = t.store.db;
    await db.insertInto('join_tokens').values([
      { id: 'j-old', agent_id: 'o1', secret_hash: 'x', uses_left: 1, expires_at: T0, created_at: T0 },
      { id: 'j-new', agent_id: 'o1', secret_hash: 'x', uses_left: 1, expires_at: T1, created_at: T0 },
    ]).execute();
    await db.insertInto('admin_tokens').values([
      { id: 't-old', name: 'old', role: 'admin', secret_hash: 'x', created_at: T0, revoked_at: null, roles: '["admin"]', operator: null, expires_at: T0, last_used_at: null, created_by: null },
      { id: 't-forever', name: 'forever', role: 'admin', secret_hash: 'x', created_at: T0, revoked_at: null, roles: '["admin"]', operator: null, expires_at: null, last_used_at: null, created_by: null },
    ]).execute();
    const reaping = reapingRepository(db);
    const at = '2031-01-15T00:00:00.000Z';
    expect(await reaping.expiredJoinTokens(at)).toEqual(['j-old']);
    expect(await reaping.expiredOperatorTokens(at)).toEqual(['t-old']);
    expect(await reaping.purgeJoinTokens(['j-old', 'j-new'], at)).toEqual(['j-old']);
    expect(await reaping.purgeOperatorTokens(['t-old', 't-forever'], at)).toEqual(['t-old']);
    expect(await reaping.purgeOperatorTokens(['t-old'], at)).toEqual([]);
  });

  it('pages mandates newest first by keyset, with their standing and spend', async () => {
    const db = t.store.db;
    await db.insertInto('instances').values({ id: 'i1', agent_id: 'o1', spiffe_id: 's', jkt: 'j', public_jwk: '{}', claims: '{}', status: 'active', created_at: T0, revoked_at: null }).execute();
    for (let i = 0; i < 5; i++) {
      await db.insertInto('mandates').values({ jti: `m${i}`, parent_jti: i === 0 ? null : 'm0', instance_id: 'i1', agent_id: 'o1', sub: 'cy', scope: 'tool:x/y', aud: '["x"]', budget: 10, depth: i === 0 ? 0 : 1, task_id: null, issued_at: i < 3 ? T0 : T1, expires_at: '2099-01-01T00:00:00.000Z', revoked_at: i === 4 ? T1 : null, kid: null }).execute();
    }
    await db.insertInto('mandate_budgets').values({ jti: 'm0', budget: 10, spent: 4, updated_at: T1 }).execute();
    const inventory = inventoryRepository(db);
    const seen: string[] = [];
    let after: { issued_at: string; jti: string } | undefined;
    for (;;) {
      const page = await inventory.mandates({ now: T1, limit: 2, after });
      if (page.length === 0) break;
      seen.push(...page.map((m) => m.jti));
      after = page.at(-1)!;
    }
    expect(seen).toEqual(['m4', 'm3', 'm2', 'm1', 'm0']);
    expect((await inventory.mandates({ now: T1, limit: 10, state: 'live' })).map((m) => m.jti)).toEqual(['m3', 'm2', 'm1', 'm0']);
    expect((await inventory.mandates({ now: T1, limit: 10, state: 'ended' })).map((m) => m.jti)).toEqual(['m4']);
    expect(Number((await inventory.mandates({ now: T1, limit: 10, person: 'cy' })).find((m) => m.jti === 'm0')!.spent)).toBe(4);
    expect((await inventory.children(['m0'])).map((c) => c.jti).sort()).toEqual(['m1', 'm2', 'm3', 'm4']);
  });

  it('counts what a delegated mandate may still spend against its parent, even when the parent is on another page', async () => {
    await t.store.db.insertInto('mandate_budgets').values({ jti: 'm1', budget: 10, spent: 1, updated_at: T1 }).execute();
    const first = await listMandates(t.store.db, { state: 'live', limit: 1 }, new Date(T1));
    expect(first.mandates.map((m) => [m.jti, m.budget])).toEqual([['m3', { limit: 10, spent: 0, left: 6 }]]);
    const all = await listMandates(t.store.db, { state: 'all', limit: 10 }, new Date(T1));
    expect(Object.fromEntries(all.mandates.map((m) => [m.jti, m.budget.left]))).toEqual({ m4: 6, m3: 6, m2: 6, m1: 6, m0: 6 });
    await t.store.db.updateTable('mandate_budgets').set({ spent: 10 }).where('jti', '=', 'm0').execute();
    expect((await listMandates(t.store.db, { state: 'all', limit: 10 }, new Date(T1))).mandates.every((m) => m.budget.left === 0)).toBe(true);
  });
});
