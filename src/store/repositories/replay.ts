import type { Queryable } from '../store.ts';

/** RFC 9449 §11.1 — seen DPoP proofs, shared by every replica. */
export interface ReplayRepository {
  /**
   * Record a key until `expiresAt` (unix seconds): true when it was unseen or its earlier entry
   * had expired by `now`, false when it is a replay. Atomic across replicas.
   */
  remember(key: string, expiresAt: number, now: number): Promise<boolean>;
  /** Drop entries expired by `now`. */
  sweep(now: number): Promise<void>;
}

export function replayRepository(db: Queryable): ReplayRepository {
  return {
    remember: async (key, expiresAt, now) => {
      const result = await db
        .insertInto('dpop_replay')
        .values({ key, expires_at: expiresAt })
        .onConflict((oc) => oc.column('key').doUpdateSet({ expires_at: expiresAt }).where('dpop_replay.expires_at', '<=', now))
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
    },
    sweep: async (now) => {
      await db.deleteFrom('dpop_replay').where('expires_at', '<=', now).execute();
    },
  };
}
