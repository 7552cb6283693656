import { afterEach, describe, expect, it } from 'vitest';
import { dialects, openTestStore, type TestStore } from '../../test/harness.ts';
import {
  applyAgents,
  changeAgentStatus,
  getAgent,
  listAgents,
  parseAgentCard,
  registerAgent,
} from './agents.ts';

const now = new Date('2026-11-23T10:00:00Z');
const later = new Date('2026-11-23T11:00:00Z');
const card = (over: Record<string, unknown> = {}) =>
  parseAgentCard({
    id: 'support-bot',
    name: 'Support bot',
    owner: 'alice@example.com',
    environment: 'prod',
    ...over,
  });

describe('agent card validation', () => {
  it('refuses a prod agent without an owner, naming the field', () => {
    expect(() => parseAgentCard({ id: 'x', name: 'X', environment: 'prod' })).toThrowError(
      expect.objectContaining({
        code: 'ERR_OWNER_REQUIRED',
        status: 400,
        details: [{ path: 'owner', message: 'required for environment prod' }],
      }),
    );
  });

  it('accepts a dev agent without an owner and flags it', () => {
    expect(parseAgentCard({ id: 'x', name: 'X' }).owner).toBeNull();
  });

  it('refuses unknown fields and wrong types with the field path', () => {
    expect(() => parseAgentCard({ id: 'x', name: 'X', colour: 'red' }, 'agents[2]')).toThrowError(
      expect.objectContaining({
        code: 'ERR_VALIDATION',
        details: [expect.objectContaining({ path: 'agents[2]' })],
      }),
    );
    expect(() => parseAgentCard({ id: 'x', name: 'X', roles: 'admin' })).toThrowError(
      expect.objectContaining({ details: [expect.objectContaining({ path: 'roles' })] }),
    );
  });

  it('normalizes code hashes and durations', () => {
    const spec = parseAgentCard({
      id: 'x',
      name: 'X',
      code_hashes: ['AB'.repeat(32)],
      max_token_lifetime: '15m',
    });
    expect(spec.code_hashes).toEqual([`sha256:${'ab'.repeat(32)}`]);
    expect(spec.max_token_lifetime).toBe(900);
  });

  it('refuses ids that are not slugs and toolset entries outside the scope grammar', () => {
    expect(() => parseAgentCard({ id: 'Bad Id', name: 'X' })).toThrowError(
      expect.objectContaining({ code: 'ERR_VALIDATION' }),
    );
    expect(() => parseAgentCard({ id: 'x', name: 'X', toolset: ['everything'] })).toThrowError(
      expect.objectContaining({ details: [expect.objectContaining({ path: 'toolset[0]' })] }),
    );
  });
});

describe.each(await dialects())('agent registry on %s', (dialect) => {
  let t: TestStore | undefined;
  afterEach(async () => {
    await t?.cleanup();
    t = undefined;
  });

  it('registers a card once and refuses a duplicate id', async () => {
    t = await openTestStore(dialect);
    const agent = await registerAgent(t.store.db, card(), now);
    expect(agent).toMatchObject({
      id: 'support-bot',
      status: 'active',
      created_at: now.toISOString(),
      flags: ['no-code-hashes'],
    });
    await expect(registerAgent(t.store.db, card(), now)).rejects.toMatchObject({
      code: 'ERR_AGENT_EXISTS',
      status: 409,
    });
  });

  it('applies cards idempotently: created, then unchanged, then updated', async () => {
    t = await openTestStore(dialect);
    const { store } = t;
    const second = parseAgentCard({ id: 'research', name: 'Research' });
    expect(await applyAgents(store, [card(), second], now)).toEqual([
      { id: 'support-bot', outcome: 'created' },
      { id: 'research', outcome: 'created' },
    ]);
    expect(await applyAgents(store, [card(), second], later)).toEqual([
      { id: 'support-bot', outcome: 'unchanged' },
      { id: 'research', outcome: 'unchanged' },
    ]);
    const result = await applyAgents(store, [card({ purpose: 'Tickets' })], later);
    expect(result).toEqual([{ id: 'support-bot', outcome: 'updated' }]);
    const updated = await getAgent(store.db, 'support-bot');
    expect(updated).toMatchObject({
      purpose: 'Tickets',
      created_at: now.toISOString(),
      updated_at: later.toISOString(),
    });
  });

  it('writes nothing when one card of an apply fails', async () => {
    t = await openTestStore(dialect);
    const { store } = t;
    await registerAgent(store.db, parseAgentCard({ id: 'old', name: 'Old' }), now);
    await changeAgentStatus(store.db, 'old', 'retire', now);
    await expect(
      applyAgents(
        store,
        [parseAgentCard({ id: 'new', name: 'New' }), parseAgentCard({ id: 'old', name: 'Old' })],
        now,
      ),
    ).rejects.toMatchObject({
      code: 'ERR_AGENT_RETIRED',
    });
    expect((await listAgents(store.db)).map((a) => a.id)).toEqual(['old']);
  });

  it('moves through the lifecycle and refuses impossible transitions', async () => {
    t = await openTestStore(dialect);
    const db = t.store.db;
    await registerAgent(db, card(), now);
    expect((await changeAgentStatus(db, 'support-bot', 'suspend', later)).status).toBe('suspended');
    await expect(changeAgentStatus(db, 'support-bot', 'suspend', later)).rejects.toMatchObject({
      code: 'ERR_AGENT_STATE',
    });
    expect((await changeAgentStatus(db, 'support-bot', 'resume', later)).status).toBe('active');
    expect((await changeAgentStatus(db, 'support-bot', 'retire', later)).status).toBe('retired');
    await expect(changeAgentStatus(db, 'support-bot', 'resume', later)).rejects.toMatchObject({
      code: 'ERR_AGENT_STATE',
      status: 409,
    });
    await expect(changeAgentStatus(db, 'ghost', 'suspend', later)).rejects.toMatchObject({
      code: 'ERR_AGENT_NOT_FOUND',
      status: 404,
    });
  });

  it('filters the list by status, owner and environment', async () => {
    t = await openTestStore(dialect);
    const db = t.store.db;
    await registerAgent(db, card(), now);
    await registerAgent(db, parseAgentCard({ id: 'dev-bot', name: 'Dev' }), now);
    await changeAgentStatus(db, 'dev-bot', 'suspend', now);
    expect((await listAgents(db, { status: 'suspended' })).map((a) => a.id)).toEqual(['dev-bot']);
    expect((await listAgents(db, { owner: 'alice@example.com' })).map((a) => a.id)).toEqual(['support-bot']);
    expect((await listAgents(db, { environment: 'dev' })).map((a) => a.id)).toEqual(['dev-bot']);
  });
});
