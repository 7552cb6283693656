import { afterEach, describe, expect, it } from 'vitest';
import { StoreAuditWriter } from '../src/audit/store-writer.ts';
import { verifyAuditLog } from '../src/audit/verify-log.ts';
import { budgetsRepository } from '../src/store/repositories/budgets.ts';
import type { Store } from '../src/store/store.ts';
import { decisionRecord } from './audit.kit.ts';
import { dialects, openTestStore, type TestStore } from './harness.ts';

/**
 * Issue 16, one durable write per call: a call's governance writes (here a budget debit) ride in
 * the transaction that appends its decision event, so both are durable together or not at all.
 */
const AT = '2026-01-01T00:00:00.000Z';
const spentOf = async (store: Store, jti: string) => (await budgetsRepository(store.db).spent([jti])).get(jti) ?? 0;

describe.each(await dialects())('writes that ride with a decision event (%s)', (dialect) => {
  let t: TestStore;
  afterEach(async () => t?.cleanup());

  it('commits the debit and the event together, group-committed with other calls', async () => {
    t = await openTestStore(dialect);
    const writer = new StoreAuditWriter(t.store, { groupCommitMs: 5 });
    const events = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        writer.appendWithin!(
          async (db) => {
            if ((await budgetsRepository(db).debit('m-1', 100, 7, AT)) === undefined) throw new Error('unaffordable');
            return decisionRecord('instance:i-1', i);
          },
          () => {
            throw new Error('not expected');
          },
        ),
      ),
    );
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(await spentOf(t.store, 'm-1')).toBe(70);
    await writer.close();
    expect((await verifyAuditLog(t.store.db, { trusted: [] })).ok).toBe(true);
  });

  it('undoes only the failing call’s writes and records what it says instead; the others commit', async () => {
    t = await openTestStore(dialect);
    const writer = new StoreAuditWriter(t.store, { groupCommitMs: 5 });
    const debitThenFail = writer.appendWithin!(
      async (db) => {
        await budgetsRepository(db).debit('m-2', 100, 40, AT);
        throw new Error('the parent cannot afford it');
      },
      (error) => decisionRecord('instance:i-2', 0, { decision: 'deny', status: 'failure', denial_reason: 'ERR_BUDGET_EXCEEDED', reasons: { message: String((error as Error).message) } }),
    );
    const fine = writer.appendWithin!(
      async (db) => {
        await budgetsRepository(db).debit('m-3', 100, 10, AT);
        return decisionRecord('instance:i-3', 0);
      },
      () => decisionRecord('instance:i-3', 0, { decision: 'deny' }),
    );
    const [denied, allowed] = await Promise.all([debitThenFail, fine]);
    expect(denied.denial_reason).toBe('ERR_BUDGET_EXCEEDED');
    expect(allowed.decision).toBe('allow');
    expect(await spentOf(t.store, 'm-2')).toBe(0);
    expect(await spentOf(t.store, 'm-3')).toBe(10);
    await writer.close();
  });

  it('writes nothing when the transaction does not commit, and the caller is told', async () => {
    t = await openTestStore(dialect);
    const lost: Store = {
      ...t.store,
      transaction: (work) =>
        t.store.transaction(async (trx) => {
          await work(trx);
          throw new Error('commit lost');
        }),
    };
    const writer = new StoreAuditWriter(lost);
    const appended = writer.appendWithin!(
      async (db) => {
        await budgetsRepository(db).debit('m-4', 100, 25, AT);
        return decisionRecord('instance:i-4', 0);
      },
      () => decisionRecord('instance:i-4', 0, { decision: 'deny' }),
    );
    await expect(appended).rejects.toThrow('commit lost');
    expect(await spentOf(t.store, 'm-4')).toBe(0);
    expect(await t.store.db.selectFrom('audit_events').select('id').execute()).toEqual([]);
  });
});
