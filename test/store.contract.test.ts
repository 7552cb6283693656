import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AgentRow, agentsRepository } from '../src/store/repositories/agents.ts';
import type { Store } from '../src/store/store.ts';
import { dialects, openTestStore, type TestStore } from './harness.ts';

/**
 * One contract per repository, run against every dialect: what a component may rely on from its
 * storage port, whichever database keeps it.
 */
describe.each(await dialects())('repository contracts on %s', (dialect) => {
  let t: TestStore;
  let store: Store;
  beforeEach(async () => {
    t = await openTestStore(dialect);
    store = t.store;
  });
  afterEach(async () => {
    await t.cleanup();
  });

  describe('agents', () => {
    const agent = (id: string, over: Partial<AgentRow> = {}): AgentRow => ({
      id,
      name: id,
      owner: 'alice@example.com',
      purpose: 'tests',
      environment: 'dev',
      model: null,
      version: null,
      code_hashes: '[]',
      config_hashes: '[]',
      toolset: '[]',
      roles: '[]',
      may_delegate_to: '[]',
      on_behalf_of: 'optional',
      max_token_lifetime: 600,
      default_budget: 100,
      status: 'active',
      spec_hash: 'h1',
      created_at: '2026-01-01T00:00:00.000Z',
      updated_at: '2026-01-01T00:00:00.000Z',
      ...over,
    });

    it('finds an inserted card and nothing for an unknown id', async () => {
      const agents = agentsRepository(store.db);
      await agents.insert(agent('a1'));
      expect(await agents.find('a1')).toMatchObject({ id: 'a1', max_token_lifetime: 600, default_budget: 100 });
      expect(await agents.find('nope')).toBeUndefined();
    });

    it('lists cards ordered by id, filtered by status, owner and environment', async () => {
      const agents = agentsRepository(store.db);
      await agents.insert(agent('b', { environment: 'prod' }));
      await agents.insert(agent('a', { owner: 'bob@example.com' }));
      await agents.insert(agent('c', { status: 'suspended' }));
      expect((await agents.list()).map((a) => a.id)).toEqual(['a', 'b', 'c']);
      expect((await agents.list({ status: 'active' })).map((a) => a.id)).toEqual(['a', 'b']);
      expect((await agents.list({ owner: 'bob@example.com' })).map((a) => a.id)).toEqual(['a']);
      expect((await agents.list({ environment: 'prod' })).map((a) => a.id)).toEqual(['b']);
    });

    it('updates the spec columns of a card', async () => {
      const agents = agentsRepository(store.db);
      await agents.insert(agent('a'));
      const { id: _id, status: _s, created_at: _c, ...changes } = agent('a', { name: 'renamed', spec_hash: 'h2', updated_at: '2026-02-01T00:00:00.000Z' });
      await agents.update('a', changes);
      expect(await agents.find('a')).toMatchObject({ name: 'renamed', spec_hash: 'h2', status: 'active', updated_at: '2026-02-01T00:00:00.000Z' });
    });

    it('changes status only from the expected one', async () => {
      const agents = agentsRepository(store.db);
      await agents.insert(agent('a'));
      await agents.changeStatus('a', 'suspended', 'retired', '2026-02-01T00:00:00.000Z');
      expect((await agents.find('a'))?.status).toBe('active');
      await agents.changeStatus('a', 'active', 'suspended', '2026-02-01T00:00:00.000Z');
      expect(await agents.find('a')).toMatchObject({ status: 'suspended', updated_at: '2026-02-01T00:00:00.000Z' });
    });

    it('writes nothing when the transaction around it fails', async () => {
      await expect(
        store.transaction(async (trx) => {
          await agentsRepository(trx).insert(agent('a'));
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await agentsRepository(store.db).find('a')).toBeUndefined();
    });
  });
});
