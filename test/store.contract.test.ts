import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AgentRow, agentsRepository } from '../src/store/repositories/agents.ts';
import { type AuditEventRow, auditAppendRepository, auditLogRepository, auditSnapshot } from '../src/store/repositories/audit-log.ts';
import { type ApprovalRow, approvalsRepository } from '../src/store/repositories/approvals.ts';
import { baselinesRepository } from '../src/store/repositories/baselines.ts';
import { budgetsRepository } from '../src/store/repositories/budgets.ts';
import { connectionsRepository } from '../src/store/repositories/connections.ts';
import { type DatabaseRoleRow, databaseRolesRepository } from '../src/store/repositories/database-roles.ts';
import { type InstanceRow, instancesRepository } from '../src/store/repositories/instances.ts';
import { joinTokensRepository } from '../src/store/repositories/join-tokens.ts';
import { type MandateRow, mandatesRepository } from '../src/store/repositories/mandates.ts';
import { mcpServersRepository } from '../src/store/repositories/mcp-servers.ts';
import { a2aPeersRepository } from '../src/store/repositories/a2a-peers.ts';
import { policySetsRepository } from '../src/store/repositories/policy-sets.ts';
import { rateWindowsRepository } from '../src/store/repositories/rate-windows.ts';
import { replayRepository } from '../src/store/repositories/replay.ts';
import { secretsRepository } from '../src/store/repositories/secrets.ts';
import { type SigningKeyRow, signingKeysRepository } from '../src/store/repositories/signing-keys.ts';
import { type ToolPinRow, toolPinsRepository } from '../src/store/repositories/tool-pins.ts';
import { trustedIssuersRepository } from '../src/store/repositories/trusted-issuers.ts';
import { entitlementsRepository } from '../src/store/repositories/entitlements.ts';
import { alertCooldownsRepository } from '../src/store/repositories/alert-cooldowns.ts';
import type { Store } from '../src/store/store.ts';
import { dialects, openTestStore, type TestStore } from './harness.ts';

const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-02-01T00:00:00.000Z';

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
  created_at: T0,
  updated_at: T0,
  ...over,
});

const instance = (id: string, agentId: string, over: Partial<InstanceRow> = {}): InstanceRow => ({
  id,
  agent_id: agentId,
  spiffe_id: `spiffe://example.org/agent/${agentId}/i/${id}`,
  jkt: `jkt-${id}`,
  public_jwk: '{}',
  claims: '{}',
  status: 'active',
  created_at: T0,
  revoked_at: null,
  ...over,
});

const mandate = (jti: string, over: Partial<MandateRow> = {}): MandateRow => ({
  jti,
  parent_jti: null,
  instance_id: 'i1',
  agent_id: 'a1',
  sub: 'alice@example.com',
  scope: 'tool:x',
  aud: '[]',
  budget: 10,
  depth: 0,
  task_id: null,
  issued_at: T0,
  expires_at: T1,
  revoked_at: null,
  kid: 'k1',
  ...over,
});

const approval = (id: string, over: Partial<ApprovalRow> = {}): ApprovalRow => ({
  id,
  status: 'pending',
  instance_id: 'i1',
  agent_id: 'a1',
  person: null,
  owner: null,
  jti: 'm1',
  action: 'tool:call',
  resource: 'r',
  args_digest: 'd',
  why: '{}',
  risk: 0,
  requested_at: T0,
  expires_at: T1,
  decided_at: null,
  decided_by: null,
  note: null,
  consumed_at: null,
  ...over,
});

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
      const { id: _id, status: _s, created_at: _c, ...changes } = agent('a', { name: 'renamed', spec_hash: 'h2', updated_at: T1 });
      await agents.update('a', changes);
      expect(await agents.find('a')).toMatchObject({ name: 'renamed', spec_hash: 'h2', status: 'active', updated_at: T1 });
    });

    it('changes status only from the expected one', async () => {
      const agents = agentsRepository(store.db);
      await agents.insert(agent('a'));
      await agents.changeStatus('a', 'suspended', 'retired', T1);
      expect((await agents.find('a'))?.status).toBe('active');
      await agents.changeStatus('a', 'active', 'suspended', T1);
      expect(await agents.find('a')).toMatchObject({ status: 'suspended', updated_at: T1 });
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

  describe('instances', () => {
    it('finds an instance by id and by key thumbprint, and refuses a second instance on one key', async () => {
      await agentsRepository(store.db).insert(agent('a1'));
      const instances = instancesRepository(store.db);
      await instances.insert(instance('i1', 'a1'));
      expect(await instances.find('i1')).toMatchObject({ id: 'i1', status: 'active' });
      expect((await instances.findByJkt('jkt-i1'))?.id).toBe('i1');
      expect(await instances.findByJkt('other')).toBeUndefined();
      await expect(instances.insert(instance('i2', 'a1', { jkt: 'jkt-i1' }))).rejects.toThrow();
    });

    it('lists by creation and agent, and revokes once', async () => {
      const agents = agentsRepository(store.db);
      await agents.insert(agent('a1'));
      await agents.insert(agent('a2'));
      const instances = instancesRepository(store.db);
      await instances.insert(instance('i2', 'a1', { created_at: T1 }));
      await instances.insert(instance('i1', 'a1'));
      await instances.insert(instance('i3', 'a2'));
      expect((await instances.list()).map((i) => i.id)).toEqual(['i1', 'i3', 'i2']);
      expect((await instances.list({ agentId: 'a1' })).map((i) => i.id)).toEqual(['i1', 'i2']);
      await instances.revoke('i1', T0);
      await instances.revoke('i1', T1);
      expect(await instances.find('i1')).toMatchObject({ status: 'revoked', revoked_at: T0 });
      await instances.revokeOfAgent('a1', T1);
      expect(await instances.find('i2')).toMatchObject({ status: 'revoked', revoked_at: T1 });
      expect((await instances.find('i3'))?.status).toBe('active');
    });
  });

  describe('mandates', () => {
    beforeEach(async () => {
      await agentsRepository(store.db).insert(agent('a1'));
      await instancesRepository(store.db).insert(instance('i1', 'a1'));
    });

    it('keeps an issued mandate and tells whether it stands', async () => {
      const mandates = mandatesRepository(store.db);
      await mandates.insert(mandate('m1'));
      expect(await mandates.find('m1')).toMatchObject({ jti: 'm1', budget: 10, depth: 0 });
      expect(await mandates.standing('m1')).toEqual({ revoked_at: null, agent_id: 'a1', instance_status: 'active', agent_status: 'active' });
      expect(await mandates.standing('nope')).toBeUndefined();
    });

    it('finds unrevoked mandates by jti, parent, instance, agent and signing key', async () => {
      const mandates = mandatesRepository(store.db);
      await mandates.insert(mandate('m1'));
      await mandates.insert(mandate('m2', { parent_jti: 'm1', depth: 1 }));
      await mandates.insert(mandate('m3', { kid: null, issued_at: '2025-06-01T00:00:00.000Z' }));
      await mandates.markRevoked(['m3'], T1);
      expect((await mandates.unrevoked(['m1', 'm3', 'nope'])).sort()).toEqual(['m1']);
      expect(await mandates.unrevoked([])).toEqual([]);
      expect(await mandates.unrevokedChildren(['m1'])).toEqual(['m2']);
      expect((await mandates.unrevokedOfInstance('i1')).sort()).toEqual(['m1', 'm2']);
      expect((await mandates.unrevokedOfAgent('a1')).sort()).toEqual(['m1', 'm2']);
      expect((await mandates.unrevokedSignedBy('k1', T0, null)).sort()).toEqual(['m1', 'm2']);
      expect((await mandates.standing('m3'))?.revoked_at).toBe(T1);
    });

    it('matches mandates without a recorded key by the window their key was signing', async () => {
      const mandates = mandatesRepository(store.db);
      await mandates.insert(mandate('old', { kid: null, issued_at: '2025-06-01T00:00:00.000Z' }));
      await mandates.insert(mandate('older', { kid: null, issued_at: '2024-06-01T00:00:00.000Z' }));
      expect(await mandates.unrevokedSignedBy('k0', '2025-01-01T00:00:00.000Z', '2025-12-31T00:00:00.000Z')).toEqual(['old']);
    });

    it('holds an unrevoked mandate and refuses to hold a revoked or unknown one', async () => {
      const mandates = mandatesRepository(store.db);
      await mandates.insert(mandate('m1'));
      expect(await store.transaction((trx) => mandatesRepository(trx).holdUnrevoked('m1'))).toBe(true);
      await mandates.markRevoked(['m1'], T1);
      expect(await mandates.holdUnrevoked('m1')).toBe(false);
      expect(await mandates.holdUnrevoked('nope')).toBe(false);
    });
  });

  describe('DPoP replay', () => {
    it('remembers a proof once, reuses it after it expired, and sweeps expired entries', async () => {
      const replay = replayRepository(store.db);
      expect(await replay.remember('p1', 100, 50)).toBe(true);
      expect(await replay.remember('p1', 100, 60)).toBe(false);
      expect(await replay.remember('p1', 200, 100)).toBe(true);
      expect(await replay.remember('p1', 300, 150)).toBe(false);
      await replay.remember('p2', 120, 50);
      await replay.sweep(150);
      expect(await replay.remember('p2', 400, 150)).toBe(true);
    });

    it('accepts a proof once among concurrent callers', async () => {
      const results = await Promise.all(Array.from({ length: 8 }, () => replayRepository(store.db).remember('p', 100, 50)));
      expect(results.filter(Boolean)).toHaveLength(1);
    });
  });

  describe('budgets', () => {
    it('debits up to the budget and never past it', async () => {
      const budgets = budgetsRepository(store.db);
      expect(await budgets.debit('m1', 10, 4, T0)).toBe(4);
      expect(await budgets.debit('m1', 10, 6, T0)).toBe(10);
      expect(await budgets.debit('m1', 10, 1, T0)).toBeUndefined();
      expect(await budgets.spent(['m1', 'm2'])).toEqual(new Map([['m1', 10]]));
      expect(await budgets.spent([])).toEqual(new Map());
    });

    it('refunds a debit', async () => {
      const budgets = budgetsRepository(store.db);
      await budgets.debit('m1', 10, 4, T0);
      await budgets.debit('m2', 10, 5, T0);
      await budgets.refund(['m1', 'm2'], 3, T1);
      expect(await budgets.spent(['m1', 'm2'])).toEqual(new Map([['m1', 1], ['m2', 2]]));
    });

    it('lets concurrent debits spend exactly the budget', async () => {
      const results = await Promise.all(Array.from({ length: 12 }, () => budgetsRepository(store.db).debit('m', 10, 1, T0)));
      expect(results.filter((r) => r !== undefined)).toHaveLength(10);
      expect((await budgetsRepository(store.db).spent(['m'])).get('m')).toBe(10);
    });
  });

  describe('rate windows', () => {
    it('counts hits per window and sweeps closed windows', async () => {
      const windows = rateWindowsRepository(store.db);
      expect(await windows.hit([{ key: 'a', expiresAt: 100 }, { key: 'b', expiresAt: 200 }])).toEqual(new Map([['a', 1], ['b', 1]]));
      expect(await windows.hit([{ key: 'a', expiresAt: 100 }])).toEqual(new Map([['a', 2]]));
      expect(await windows.hit([])).toEqual(new Map());
      await windows.sweep(150);
      expect(await windows.hit([{ key: 'a', expiresAt: 300 }, { key: 'b', expiresAt: 200 }])).toEqual(new Map([['a', 1], ['b', 2]]));
    });
  });

  describe('approvals', () => {
    it('finds the newest live approval of one exact call', async () => {
      const approvals = approvalsRepository(store.db);
      await approvals.insert(approval('old', { status: 'denied' }));
      await approvals.insert(approval('new', { requested_at: '2026-01-02T00:00:00.000Z' }));
      await approvals.insert(approval('other', { args_digest: 'x', requested_at: '2026-01-03T00:00:00.000Z' }));
      await approvals.insert(approval('consumed', { status: 'consumed', requested_at: '2026-01-04T00:00:00.000Z' }));
      const binding = { jti: 'm1', resource: 'r', argsDigest: 'd' };
      expect((await approvals.findForCall(binding, T0))?.id).toBe('new');
      expect(await approvals.findForCall(binding, T1)).toBeUndefined();
    });

    it('lists by status, agent and instance, newest first', async () => {
      const approvals = approvalsRepository(store.db);
      await approvals.insert(approval('p1'));
      await approvals.insert(approval('p2', { requested_at: '2026-01-02T00:00:00.000Z', agent_id: 'a2' }));
      await approvals.insert(approval('x', { expires_at: '2026-01-01T00:00:01.000Z', status: 'granted' }));
      await approvals.insert(approval('d', { status: 'denied' }));
      const at = '2026-01-05T00:00:00.000Z';
      const ids = async (filter: Partial<Parameters<typeof approvals.list>[0]>) =>
        (await approvals.list({ status: 'all', limit: 100, ...filter }, at)).map((a) => a.id);
      expect(await ids({ status: 'pending' })).toEqual(['p2', 'p1']);
      expect(await ids({ status: 'expired' })).toEqual(['x']);
      expect(await ids({ status: 'denied' })).toEqual(['d']);
      expect(await ids({ agentId: 'a2' })).toEqual(['p2']);
      expect(await ids({ instanceId: 'i1', limit: 1 })).toEqual(['p2']);
    });

    it('counts the pending backlog and names its oldest request', async () => {
      const approvals = approvalsRepository(store.db);
      const at = '2026-01-05T00:00:00.000Z';
      expect(await approvals.backlog(at)).toEqual({ pending: 0, oldest: null });
      await approvals.insert(approval('p1', { requested_at: '2026-01-02T00:00:00.000Z', expires_at: '2026-02-01T00:00:00.000Z' }));
      await approvals.insert(approval('p2', { requested_at: '2026-01-03T00:00:00.000Z', expires_at: '2026-02-01T00:00:00.000Z' }));
      await approvals.insert(approval('gone', { requested_at: '2026-01-01T00:00:00.000Z', expires_at: '2026-01-01T00:00:01.000Z' }));
      await approvals.insert(approval('done', { status: 'denied', requested_at: '2026-01-01T00:00:00.000Z', expires_at: '2026-02-01T00:00:00.000Z' }));
      expect(await approvals.backlog(at)).toEqual({ pending: 2, oldest: '2026-01-02T00:00:00.000Z' });
    });

    it('lands one decision, consumes a grant once, and restores it', async () => {
      const approvals = approvalsRepository(store.db);
      await approvals.insert(approval('a'));
      const decision = { status: 'granted', decided_at: T0, decided_by: 'bob', note: null, expires_at: T1 };
      expect(await approvals.decide('a', decision, T0)).toBe(true);
      expect(await approvals.decide('a', { ...decision, status: 'denied' }, T0)).toBe(false);
      const tries = await Promise.all(Array.from({ length: 4 }, () => approvalsRepository(store.db).consume('a', T0)));
      expect(tries.filter(Boolean)).toHaveLength(1);
      expect(await approvals.find('a')).toMatchObject({ status: 'consumed', consumed_at: T0 });
      await approvals.restore('a');
      expect(await approvals.find('a')).toMatchObject({ status: 'granted', consumed_at: null });
      expect(await approvals.consume('a', T1)).toBe(false);
    });
  });

  describe('signing keys', () => {
    const key = (kid: string, over: Partial<SigningKeyRow> = {}): SigningKeyRow => ({
      kid,
      alg: 'EdDSA',
      public_jwk: '{}',
      private_sealed: 'sealed',
      created_at: T0,
      retired_at: null,
      expires_at: null,
      revoked_at: null,
      ...over,
    });

    it('names the newest key still signing, retires it, and withdraws a key once', async () => {
      const keys = signingKeysRepository(store.db);
      await keys.insert(key('k1'));
      await keys.insert(key('k2', { created_at: T1 }));
      expect((await keys.newestUnretired())?.kid).toBe('k2');
      await keys.retireSigning(T1, '2026-03-01T00:00:00.000Z');
      expect(await keys.newestUnretired()).toBeUndefined();
      expect(await keys.find('k2')).toMatchObject({ retired_at: T1, expires_at: '2026-03-01T00:00:00.000Z' });
      expect(await keys.withdraw('k1', T1, T0)).toBe(true);
      expect(await keys.withdraw('k1', T1, T0)).toBe(false);
      expect(await keys.find('k1')).toMatchObject({ revoked_at: T1, retired_at: T0, expires_at: T1 });
      await keys.reseal('k2', 'resealed');
      expect((await keys.list()).map((k) => [k.kid, k.private_sealed])).toEqual([
        ['k1', 'sealed'],
        ['k2', 'resealed'],
      ]);
    });
  });

  describe('join tokens', () => {
    it('spends each use of a join token once, even when raced', async () => {
      const tokens = joinTokensRepository(store.db);
      await tokens.insert({ id: 'j1', agent_id: 'a1', secret_hash: 'h', uses_left: 2, expires_at: T1, created_at: T0 });
      expect(await tokens.find('j1')).toMatchObject({ agent_id: 'a1', uses_left: 2 });
      const spent = await Promise.all(Array.from({ length: 5 }, () => joinTokensRepository(store.db).spend('j1')));
      expect(spent.filter(Boolean)).toHaveLength(2);
      expect(await tokens.spend('nope')).toBe(false);
    });
  });

  describe('trusted issuers', () => {
    it('adds an issuer once, lists, finds and removes it, and reads a row made before the mapping as legacy', async () => {
      const issuers = trustedIssuersRepository(store.db);
      const idp = {
        issuer: 'https://idp',
        source: 'discovery' as const,
        jwks_uri: 'https://idp/jwks',
        jwks: null,
        audiences: ['mandate', 'other'],
        algorithms: ['RS256'],
        claims: { subject: 'oid', email: 'upn', groups: 'roles', attributes: ['department'] },
        allow_loopback: false,
        created_at: T0,
        created_by: 'alice',
      };
      expect(await issuers.add(idp)).toBe(true);
      expect(await issuers.add({ ...idp, audiences: [] })).toBe(false);
      expect(await issuers.find('https://idp')).toEqual(idp);
      await store.db.insertInto('trusted_issuers').values({ issuer: 'https://legacy', audience: 'mandate', jwks: '{"keys":[]}', created_at: T1 }).execute();
      expect(await issuers.find('https://legacy')).toMatchObject({ source: 'inline', jwks: '{"keys":[]}', audiences: ['mandate'], algorithms: null, allow_loopback: false, claims: { subject: 'sub' } });
      expect((await issuers.all()).map((i) => i.issuer)).toEqual(['https://idp', 'https://legacy']);
      expect(await issuers.remove('https://idp')).toBe(true);
      expect(await issuers.remove('https://idp')).toBe(false);
      expect(await issuers.find('https://idp')).toBeUndefined();
    });
  });

  describe('entitlements', () => {
    it('is unconfigured when empty, reads the groups asked for, and replaces all at once', async () => {
      const entitlements = entitlementsRepository(store.db);
      expect(await entitlements.configured()).toBe(false);
      await entitlements.put({ group: 'finance', items: ['tool:a/*'], updated_at: T0 });
      await entitlements.put({ group: 'finance', items: ['tool:a/read'], updated_at: T1 });
      await entitlements.put({ group: 'ops', items: ['tool:b/*'], updated_at: T1 });
      expect(await entitlements.configured()).toBe(true);
      expect(await entitlements.ofGroups(['finance', 'sales'])).toEqual([{ group: 'finance', items: ['tool:a/read'], updated_at: T1 }]);
      expect(await entitlements.ofGroups([])).toEqual([]);
      await expect(store.transaction(async (trx) => {
        await entitlementsRepository(trx).replaceAll([{ group: 'x', items: [], updated_at: T1 }]);
        throw new Error('rolled back');
      })).rejects.toThrow('rolled back');
      expect((await entitlements.list()).map((e) => e.group)).toEqual(['finance', 'ops']);
      await store.transaction((trx) => entitlementsRepository(trx).replaceAll([{ group: 'x', items: ['tool:c/d'], updated_at: T1 }]));
      expect((await entitlements.list()).map((e) => e.group)).toEqual(['x']);
      expect(await entitlements.remove('x')).toBe(true);
      expect(await entitlements.remove('x')).toBe(false);
      expect(await entitlements.configured()).toBe(false);
    });
  });

  describe('alert cooldowns', () => {
    it('lets one claim of a rule and subject through per cooldown, among concurrent claims too', async () => {
      const cooldowns = alertCooldownsRepository(store.db);
      const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
      const claims = await Promise.all(Array.from({ length: 4 }, () => alertCooldownsRepository(store.db).claim('refusal-burst:bot', at(0), at(-60))));
      expect(claims.filter(Boolean)).toHaveLength(1);
      // Within the cooldown (last raised after `before`): refused; another subject: its own.
      expect(await cooldowns.claim('refusal-burst:bot', at(30), at(-30))).toBe(false);
      expect(await cooldowns.claim('refusal-burst:other', at(30), at(-30))).toBe(true);
      // Once the cooldown has passed: raised again, once.
      expect(await cooldowns.claim('refusal-burst:bot', at(61), at(1))).toBe(true);
      expect(await cooldowns.claim('refusal-burst:bot', at(62), at(2))).toBe(false);
      // A claim given back (the alert could not be recorded) can be taken again at once; a stale release changes nothing.
      await cooldowns.release('refusal-burst:bot', at(0));
      expect(await cooldowns.claim('refusal-burst:bot', at(63), at(3))).toBe(false);
      await cooldowns.release('refusal-burst:bot', at(61));
      expect(await cooldowns.claim('refusal-burst:bot', at(63), at(3))).toBe(true);
    });
  });

  describe('policy sets', () => {
    it('appends sets, the last one running', async () => {
      const sets = policySetsRepository(store.db);
      expect(await sets.running()).toBeUndefined();
      expect(await sets.append({ version: 'v1', files: '[]', applied_at: T0, applied_by: 'a' })).toBe(1);
      expect(await sets.append({ version: 'v2', files: '[]', applied_at: T1, applied_by: 'b' })).toBe(2);
      expect(await sets.running()).toEqual({ seq: 2, version: 'v2', files: '[]', applied_at: T1, applied_by: 'b' });
    });
  });

  describe.each([
    ['server specs', mcpServersRepository],
    ['connection specs', connectionsRepository],
    ['A2A peer specs', a2aPeersRepository],
  ] as const)('%s', (_name, repository) => {
    it('keeps specs by name, replaces and removes them', async () => {
      const specs = repository(store.db);
      await specs.insert({ name: 'b', spec: '{"v":1}', created_at: T0, updated_at: T0 });
      await specs.insert({ name: 'a', spec: '{}', created_at: T0, updated_at: T0 });
      await expect(specs.insert({ name: 'a', spec: '{}', created_at: T0, updated_at: T0 })).rejects.toThrow();
      await specs.replaceSpec('b', '{"v":2}', T1);
      expect(await specs.find('b')).toMatchObject({ spec: '{"v":2}', created_at: T0, updated_at: T1 });
      expect((await specs.list()).map((r) => r.name)).toEqual(['a', 'b']);
      expect(await specs.remove('a')).toBe(true);
      expect(await specs.remove('a')).toBe(false);
      expect(await specs.find('a')).toBeUndefined();
    });
  });

  describe('tool pins', () => {
    const pin = (server: string, tool: string, over: Partial<ToolPinRow> = {}): ToolPinRow => ({
      server,
      tool,
      hash: 'h1',
      definition: '{}',
      status: 'approved',
      pending_hash: null,
      pending_definition: null,
      updated_at: T0,
      ...over,
    });

    it('pins a tool first seen once, updates it, and forgets a server', async () => {
      const pins = toolPinsRepository(store.db);
      await pins.pinFirst(pin('s', 't'));
      await pins.pinFirst(pin('s', 't', { hash: 'other' }));
      await pins.pinFirst(pin('s2', 't'));
      expect((await pins.find('s', 't'))?.hash).toBe('h1');
      await pins.update('s', 't', { status: 'quarantined', pending_hash: 'h2' });
      expect(await pins.find('s', 't')).toMatchObject({ status: 'quarantined', pending_hash: 'h2', hash: 'h1' });
      expect((await pins.listOf('s')).map((p) => p.tool)).toEqual(['t']);
      expect((await pins.listAll()).map((p) => `${p.server}/${p.tool}`)).toEqual(['s/t', 's2/t']);
      await pins.removeOf('s');
      expect(await pins.listOf('s')).toEqual([]);
      expect(await pins.listOf('s2')).toHaveLength(1);
    });
  });

  describe('secrets', () => {
    it('keeps sealed values, replaces them keeping their creation time, and removes them', async () => {
      const secrets = secretsRepository(store.db);
      await secrets.put({ name: 'b', sealed: 's1', master_key_id: 'm1', created_at: T0, updated_at: T0 });
      await secrets.put({ name: 'a', sealed: 's0', master_key_id: 'm1', created_at: T0, updated_at: T0 });
      await secrets.put({ name: 'b', sealed: 's2', master_key_id: 'm1', created_at: T1, updated_at: T1 });
      expect(await secrets.find('b')).toEqual({ name: 'b', sealed: 's2', master_key_id: 'm1', created_at: T0, updated_at: T1 });
      expect(await secrets.list()).toEqual([
        { name: 'a', master_key_id: 'm1', created_at: T0, updated_at: T0 },
        { name: 'b', master_key_id: 'm1', created_at: T0, updated_at: T1 },
      ]);
      expect(await secrets.existing(['a', 'c'])).toEqual(new Set(['a']));
      await secrets.reseal('a', 's9', 'm2', T1);
      expect(await secrets.find('a')).toMatchObject({ sealed: 's9', master_key_id: 'm2', updated_at: T1 });
      expect((await secrets.all()).length).toBe(2);
      expect(await secrets.remove('a')).toBe(true);
      expect(await secrets.remove('a')).toBe(false);
    });
  });

  describe('database roles', () => {
    const role = (jti: string, over: Partial<DatabaseRoleRow> = {}): DatabaseRoleRow => ({
      connection: 'db',
      jti,
      role: `r_${jti}`,
      password_sealed: 'p',
      status: 'creating',
      expires_at: T1,
      created_at: T0,
      ...over,
    });

    it('lets one caller claim a role, marks it ready, and removes it', async () => {
      const roles = databaseRolesRepository(store.db);
      const claims = await Promise.all(Array.from({ length: 3 }, () => databaseRolesRepository(store.db).claim(role('m1'))));
      expect(claims.filter(Boolean)).toHaveLength(1);
      await roles.markReady('r_m1');
      await roles.claim(role('m0', { connection: 'other', expires_at: T0 }));
      expect(await roles.find('db', 'm1')).toMatchObject({ status: 'ready', role: 'r_m1' });
      await roles.setPassword('db', 'm1', 'p2');
      expect((await roles.find('db', 'm1'))?.password_sealed).toBe('p2');
      expect((await roles.list('db')).map((r) => r.role)).toEqual(['r_m1']);
      expect(await roles.list()).toHaveLength(2);
      await roles.remove('r_m1', 'other');
      expect(await roles.list()).toHaveLength(2);
      await roles.remove('r_m1');
      expect(await roles.find('db', 'm1')).toBeUndefined();
    });
  });

  describe('behavioral baselines', () => {
    it('counts hits per kind and key, reads whole kinds and exact pairs, and drops old keys', async () => {
      const baselines = baselinesRepository(store.db);
      expect(await baselines.count('a1', [['total', ''], ['tool', 's/t']], T0)).toEqual(
        expect.arrayContaining([
          { kind: 'total', hits: 1 },
          { kind: 'tool', hits: 1 },
        ]),
      );
      await baselines.count('a1', [['total', ''], ['tool', 's/u'], ['minute', '0000000001']], T0);
      await baselines.count('a2', [['total', '']], T0);
      const read = await baselines.read('a1', ['total'], [['tool', 's/t'], ['minute', '0000000001']]);
      expect(read.sort((x, y) => x.kind.localeCompare(y.kind))).toEqual([
        { kind: 'minute', key: '0000000001', hits: 1 },
        { kind: 'tool', key: 's/t', hits: 1 },
        { kind: 'total', key: '', hits: 2 },
      ]);
      await baselines.removeBefore(['minute'], '0000000002');
      expect(await baselines.read('a1', [], [['minute', '0000000001']])).toEqual([]);
    });
  });

  describe('audit log', () => {
    const event = (leaf: number, chain: string, seq: number, over: Partial<AuditEventRow> = {}): AuditEventRow => ({
      leaf_index: leaf,
      chain,
      seq,
      id: `e${leaf}`,
      time: `2026-01-01T00:00:0${leaf}.000Z`,
      type: 'tool.allowed',
      agent: 'a1',
      instance: 'i1',
      person: null,
      action: 'tool:call',
      resource: `server/tool-${leaf}`,
      decision: 'allow',
      status: 'success',
      trace_id: null,
      args_digest: null,
      hash: `h${leaf}`,
      body: `{"leaf":${leaf}}`,
      ...over,
    });

    it('appends events under the head lock, moves chain and tree heads, and reads them back in one snapshot', async () => {
      await store.transaction(async (trx) => {
        const log = auditLogRepository(trx);
        expect(await log.lockHead()).toEqual({ size: 0, frontier: '' });
        await auditAppendRepository(trx, store.dialect).appendEvents([event(0, 'system', 1), event(1, 'instance:i1', 1), event(2, 'instance:i1', 2)]);
        await auditAppendRepository(trx, store.dialect).putChainHeads(
          [
            { chain: 'system', seq: 1, hash: 'h0', sealed: false },
            { chain: 'instance:i1', seq: 2, hash: 'h2', sealed: true },
          ],
          T0,
        );
        await log.setHead({ size: 3, frontier: 'f' }, T0);
      });
      const log = auditLogRepository(store.db);
      expect(await log.head()).toEqual({ size: 3, frontier: 'f' });
      expect(await log.chainHeads(['instance:i1', 'nope'])).toEqual(new Map([['instance:i1', { chain: 'instance:i1', seq: 2, hash: 'h2', sealed: true }]]));
      await auditAppendRepository(store.db, store.dialect).putChainHeads([{ chain: 'system', seq: 2, hash: 'h9', sealed: false }], T1);
      const snapshot = await auditSnapshot(store.db, 'system');
      expect(snapshot.head).toEqual({ size: 3, frontier: 'f' });
      expect(snapshot.heads).toEqual([{ chain: 'system', seq: 2, hash: 'h9', sealed: false }]);
      expect(await log.leafHashes(1, 3)).toEqual([
        { leaf_index: 1, hash: 'h1' },
        { leaf_index: 2, hash: 'h2' },
      ]);
      expect(await log.eventAt(2)).toEqual({ chain: 'instance:i1', seq: 2, hash: 'h2', body: '{"leaf":2}' });
      expect(await log.eventAt(3)).toBeUndefined();
      expect((await log.chainEvents('instance:i1', 2)).map((e) => e.leaf_index)).toEqual([1]);
      expect((await log.leavesPage({ after: 0, size: 3, deep: true, limit: 10 })).map((e) => [Number(e.leaf_index), e.resource])).toEqual([
        [1, 'server/tool-1'],
        [2, 'server/tool-2'],
      ]);
    });

    it('queries events by exact and prefix columns, time and cursor, in either order', async () => {
      await auditAppendRepository(store.db, store.dialect).appendEvents([
        event(0, 'system', 1, { resource: 'github/issues' }),
        event(1, 'instance:i1', 1, { resource: 'github/pulls', decision: 'deny' }),
        event(2, 'instance:i1', 2, { resource: 'gitlab/issues' }),
      ]);
      const log = auditLogRepository(store.db);
      const leaves = async (q: Partial<Parameters<typeof log.queryEvents>[0]>) =>
        (await log.queryEvents({ columns: [], order: 'asc', limit: 10, ...q })).map((e) => e.leaf_index);
      expect(await leaves({ columns: [{ column: 'resource', prefix: 'github/' }] })).toEqual([0, 1]);
      expect(await leaves({ columns: [{ column: 'resource', prefix: 'github/' }, { column: 'decision', exact: 'allow' }] })).toEqual([0]);
      expect(await leaves({ since: '2026-01-01T00:00:01.000Z', until: '2026-01-01T00:00:02.000Z' })).toEqual([1]);
      expect(await leaves({ order: 'desc', after: 2 })).toEqual([1, 0]);
      expect(await leaves({ after: 0, limit: 1 })).toEqual([1]);
    });

    it('keeps one checkpoint per size and lists them newest first', async () => {
      const log = auditLogRepository(store.db);
      expect(await log.latestCheckpoint()).toBeUndefined();
      await log.addCheckpoint({ size: 2, root: 'aa', note: 'n2', created_at: T0 });
      await log.addCheckpoint({ size: 5, root: 'bb', note: 'n5', created_at: T1 });
      await log.addCheckpoint({ size: 5, root: 'cc', note: 'other', created_at: T1 });
      expect(await log.latestCheckpoint()).toEqual({ size: 5, root: 'bb', note: 'n5', created_at: T1 });
      expect((await log.checkpoints({ limit: 10 })).map((c) => c.size)).toEqual([5, 2]);
      expect((await log.checkpoints({ limit: 10, before: 5 })).map((c) => c.size)).toEqual([2]);
      expect((await auditSnapshot(store.db)).checkpoints.map((c) => c.size)).toEqual([2, 5]);
    });
  });
});
