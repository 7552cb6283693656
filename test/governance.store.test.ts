import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvalForCall, consumeApproval, decideApproval, insertApproval, newApprovalId } from '../src/governance/approvals.ts';
import { BudgetLedger, Unaffordable } from '../src/governance/budgets.ts';
import { parseGovernanceConfig } from '../src/governance/config.ts';
import { countCall } from '../src/governance/rate-limits.ts';
import { openStore } from '../src/store/open.ts';
import type { Store } from '../src/store/store.ts';
import type { MandateClaims } from '../src/tokens/mandate.ts';
import { dialects, openTestStore, type TestStore } from './harness.ts';

/**
 * Governance state is shared through the store: concurrent calls never overspend a budget, never
 * get more calls through than a rate limit, and never use one approval twice. On PostgreSQL the
 * calls come through two stores over one database (two replicas); SQLite is single-node, so they
 * share its one connection (two connections in one process would block each other's locks).
 */
const now = new Date('2031-03-10T11:00:00Z');

const claims = (jti: string, budget: number, parent?: string) => ({ jti, budget, ...(parent ? { parent_jti: parent } : {}) }) as MandateClaims;

async function addMandate(store: Store, jti: string, budget: number, parent: string | null = null) {
  await store.db
    .insertInto('mandates')
    .values({ jti, parent_jti: parent, instance_id: 'i1', agent_id: 'a1', sub: 'alice', scope: 'tool:x/*', aud: 'x', budget, depth: parent ? 1 : 0, task_id: null, issued_at: now.toISOString(), expires_at: now.toISOString(), revoked_at: null })
    .execute();
}

describe.each(await dialects())('governance state shared by replicas (%s)', (dialect) => {
  let one: TestStore;
  let two: Store | undefined;
  let a: Store;
  let b: Store;

  beforeAll(async () => {
    one = await openTestStore(dialect);
    two = dialect === 'postgres' ? await openStore(one.openOptions) : undefined;
    [a, b] = [one.store, two ?? one.store];
  });

  afterAll(async () => {
    await two?.close();
    await one?.cleanup();
  });

  const spend = (store: Store, ledger: BudgetLedger, c: MandateClaims, cost: number) =>
    store.transaction((trx) => ledger.debit(trx, c, cost, now)).then(
      () => true,
      (error: unknown) => {
        if (error instanceof Unaffordable) return false;
        throw error;
      },
    );

  it('never lets two replicas spend more than the budget', async () => {
    const ledgers = [new BudgetLedger(a), new BudgetLedger(b)];
    const mandate = claims('m-1', 1000);
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => spend([a, b][i % 2]!, ledgers[i % 2]!, mandate, 30)));
    expect(results.filter(Boolean)).toHaveLength(33);
    expect(await ledgers[0]!.standing(mandate)).toEqual({ limit: 1000, spent: 990, remaining: 10 });
  });

  it('counts a sub-agent’s spending against its parent, so delegation never multiplies a budget', async () => {
    await addMandate(a, 'parent', 100);
    await addMandate(a, 'child', 100, 'parent');
    const ledger = new BudgetLedger(a);
    expect(await spend(a, ledger, claims('parent', 100), 70)).toBe(true);
    expect(await ledger.standing(claims('child', 100, 'parent'))).toEqual({ limit: 100, spent: 0, remaining: 30 });
    expect(await spend(a, ledger, claims('child', 100, 'parent'), 40)).toBe(false);
    expect(await spend(a, ledger, claims('child', 100, 'parent'), 30)).toBe(true);
    // The refused debit left nothing behind; the parent is now spent out.
    expect(await ledger.standing(claims('parent', 100))).toEqual({ limit: 100, spent: 100, remaining: 0 });
    expect(await ledger.standing(claims('child', 100, 'parent'))).toEqual({ limit: 100, spent: 30, remaining: 0 });
  });

  it('admits exactly the limit across replicas within a window, and tells the rest when to retry', async () => {
    const limits = parseGovernanceConfig({ rateLimits: { instance: { limit: 5, windowSeconds: 60 }, agent: { limit: 0 }, person: { limit: 0 } } }).rateLimits;
    const who = { instance: 'i1', agent: 'a1', person: null };
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => countCall([a, b][i % 2]!.db, limits, who, now)));
    expect(results.filter((r) => r === null)).toHaveLength(5);
    expect(results.find((r) => r !== null)).toEqual({ scope: 'instance', limit: 5, windowSeconds: 60, retryAfter: 60 });
    // The next window starts afresh.
    expect(await countCall(a.db, limits, who, new Date(now.getTime() + 60_000))).toBeNull();
  });

  it('lets one approval be decided once and used once, whichever replica asks', async () => {
    const id = newApprovalId();
    const binding = { jti: 'm-1', resource: 'github/delete_repo', argsDigest: 'hmac-sha256:00' };
    await insertApproval(a.db, id, {
      instance: 'i1',
      agent: 'a1',
      person: 'alice',
      owner: 'bob',
      action: 'tools/call',
      binding,
      why: { policies: ['high-impact-needs-approval'], reasons: ['a person must approve this call'], anomalies: [] },
      risk: 0,
      requested_at: now.toISOString(),
      expires_at: new Date(now.getTime() + 900_000).toISOString(),
    });
    const decisions = await Promise.allSettled([
      decideApproval(a.db, id, { verdict: 'granted', by: 'carol', note: null, now, ttlSeconds: 900 }),
      decideApproval(b.db, id, { verdict: 'denied', by: 'dave', note: null, now, ttlSeconds: 900 }),
    ]);
    expect(decisions.filter((d) => d.status === 'fulfilled')).toHaveLength(1);
    expect(decisions.find((d) => d.status === 'rejected')).toMatchObject({ reason: { code: 'ERR_APPROVAL_DECIDED' } });
    const decided = await approvalForCall(a.db, binding, now);
    if (decided!.status === 'granted') {
      const uses = await Promise.all(Array.from({ length: 8 }, (_, i) => consumeApproval([a, b][i % 2]!.db, id, now)));
      expect(uses.filter(Boolean)).toHaveLength(1);
      expect(await approvalForCall(a.db, binding, now)).toBeNull();
    } else {
      expect(await consumeApproval(a.db, id, now)).toBe(false);
    }
    // An approval past its expiry is used by nobody.
    expect(await consumeApproval(b.db, id, new Date(now.getTime() + 3_600_000))).toBe(false);
  });
});
