import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects, openTestStore, type TestStore } from '../../test/harness.ts';
import {
  deleteOperator,
  findOperator,
  findOperatorToken,
  insertOperator,
  insertOperatorToken,
  listOperatorTokens,
  liveOperatorTokens,
  revokeTokensOf,
  touchOperatorToken,
} from './operators.ts';

describe.each(await dialects())('the operators repository on %s', (dialect) => {
  let t: TestStore;
  const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 12, minute));
  beforeAll(async () => {
    t = await openTestStore(dialect);
  });
  afterAll(() => t.cleanup());

  const token = (id: string, extra: object = {}) => ({
    id, name: id, roles: ['auditor'], operator: null, secret_hash: 'ab'.repeat(32), created_at: at(0).toISOString(), created_by: null, expires_at: null, ...extra,
  });

  it('finds an operator by subject or by email, and forgets a removed one', async () => {
    await insertOperator(t.store.db, { subject: 'u-1', email: 'pat@example.com', name: 'Pat', roles: ['approver:prod'], created_at: at(0).toISOString(), created_by: 'initial admin' });
    expect(await findOperator(t.store.db, 'pat@example.com')).toMatchObject({ subject: 'u-1', roles: ['approver:prod'] });
    expect(await findOperator(t.store.db, 'u-1')).toMatchObject({ email: 'pat@example.com' });
    await insertOperatorToken(t.store.db, token('tok-pat-0001', { operator: 'u-1', roles: ['approver:prod'] }));
    expect(await revokeTokensOf(t.store.db, 'u-1', at(1))).toBe(1);
    expect(await deleteOperator(t.store.db, 'u-1')).toBe(true);
    expect(await findOperator(t.store.db, 'u-1')).toBeUndefined();
    expect(await listOperatorTokens(t.store.db, { operator: 'u-1' })).toEqual([expect.objectContaining({ revoked_at: at(1).toISOString() })]);
  });

  it('reads a token made before operators by its single role', async () => {
    await t.store.db.insertInto('admin_tokens').values({ id: 'tok-legacy1', name: 'old', role: 'approver', secret_hash: 'cd'.repeat(32), created_at: at(0).toISOString(), revoked_at: null, roles: null, operator: null, expires_at: null, last_used_at: null, created_by: null }).execute();
    expect(await findOperatorToken(t.store.db, 'tok-legacy1')).toMatchObject({ roles: ['approver'], expires_at: null });
  });

  it('records a last use at most once per interval, and leaves expired tokens out of the live ones', async () => {
    await insertOperatorToken(t.store.db, token('tok-use-0001', { expires_at: at(30).toISOString() }));
    await touchOperatorToken(t.store.db, 'tok-use-0001', at(1), 60_000);
    await touchOperatorToken(t.store.db, 'tok-use-0001', new Date(at(1).getTime() + 30_000), 60_000);
    expect((await findOperatorToken(t.store.db, 'tok-use-0001'))?.last_used_at).toBe(at(1).toISOString());
    await touchOperatorToken(t.store.db, 'tok-use-0001', at(2), 60_000);
    expect((await findOperatorToken(t.store.db, 'tok-use-0001'))?.last_used_at).toBe(at(2).toISOString());
    expect((await liveOperatorTokens(t.store.db, at(29))).map((x) => x.id)).toContain('tok-use-0001');
    expect((await liveOperatorTokens(t.store.db, at(30))).map((x) => x.id)).not.toContain('tok-use-0001');
  });
});
