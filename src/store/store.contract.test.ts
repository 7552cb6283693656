import { afterEach, describe, expect, it } from 'vitest';
import { dialects, openTestStore, type TestStore } from '../../test/harness.ts';
import { openStore } from './open.ts';
import { getSetting, initSetting } from './settings.ts';

describe.each(await dialects())('store contract on %s', (dialect) => {
  let t: TestStore | undefined;
  afterEach(async () => {
    await t?.cleanup();
    t = undefined;
  });

  it('answers a ping after applying migrations', async () => {
    t = await openTestStore(dialect);
    await expect(t.store.ping()).resolves.toBeUndefined();
    expect(t.store.dialect).toBe(dialect);
  });

  it('keeps the first value of a setting', async () => {
    t = await openTestStore(dialect);
    expect(await initSetting(t.store.db, 'trust_domain', 'a.example')).toBe('a.example');
    expect(await initSetting(t.store.db, 'trust_domain', 'b.example')).toBe('a.example');
    expect(await getSetting(t.store.db, 'missing')).toBeUndefined();
  });

  it('writes nothing when a transaction fails', async () => {
    t = await openTestStore(dialect);
    const store = t.store;
    await expect(
      store.transaction(async (trx) => {
        await initSetting(trx, 'k', 'v');
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await getSetting(store.db, 'k')).toBeUndefined();
  });

  it('applies migrations once when opened again on the same database', async () => {
    t = await openTestStore(dialect);
    await initSetting(t.store.db, 'k', 'v');
    const again = await openStore(t.openOptions);
    expect(await getSetting(again.db, 'k')).toBe('v');
    await again.close();
  });
});
