import type { Queryable } from '../store.ts';

/** Alert cooldowns across replicas: who raised `<rule>:<subject>` last, and when. */
export interface AlertCooldownsRepository {
  /**
   * Take the right to raise `key` at `at` when it never raised or last raised at or before
   * `before` (ISO-8601 instants); false when it raised later (on any replica). Atomic.
   */
  claim(key: string, at: string, before: string): Promise<boolean>;
  /** Give a claim back (the alert could not be recorded), unless a later claim replaced it. */
  release(key: string, at: string): Promise<void>;
}

export function alertCooldownsRepository(db: Queryable): AlertCooldownsRepository {
  return {
    claim: async (key, at, before) => {
      const result = await db
        .insertInto('alert_cooldowns')
        .values({ rule_key: key, raised_at: at })
        .onConflict((oc) => oc.column('rule_key').doUpdateSet({ raised_at: at }).where('alert_cooldowns.raised_at', '<=', before))
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
    },
    release: async (key, at) => {
      await db.deleteFrom('alert_cooldowns').where('rule_key', '=', key).where('raised_at', '=', at).execute();
    },
  };
}
