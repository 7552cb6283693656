import type { Queryable } from './store.ts';

/** Small key/value settings fixed at first start (trust domain, install id). */
export async function getSetting(db: Queryable, key: string): Promise<string | undefined> {
  const row = await db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
  return row?.value;
}

/** Set the value only when the key has none yet; returns the value now stored. */
export async function initSetting(db: Queryable, key: string, value: string): Promise<string> {
  await db
    .insertInto('settings')
    .values({ key, value })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  return (await getSetting(db, key)) ?? value;
}
