import { sql } from 'kysely';
import type { Queryable } from '../store.ts';

/** Fixed-window call counters shared by every replica. */
export interface RateWindowsRepository {
  /** Count one hit in each window (created at first use) and return every window's new count. */
  hit(windows: ReadonlyArray<{ key: string; expiresAt: number }>): Promise<Map<string, number>>;
  /** Drop windows closed before `now` (unix seconds). */
  sweep(now: number): Promise<void>;
}

export function rateWindowsRepository(db: Queryable): RateWindowsRepository {
  return {
    hit: async (windows) => {
      if (windows.length === 0) return new Map();
      const counted = await db
        .insertInto('rate_windows')
        .values(windows.map((w) => ({ key: w.key, hits: 1, expires_at: w.expiresAt })))
        .onConflict((oc) => oc.column('key').doUpdateSet({ hits: sql<number>`rate_windows.hits + 1` }))
        .returning(['key', 'hits'])
        .execute();
      return new Map(counted.map((row) => [row.key, Number(row.hits)]));
    },
    sweep: async (now) => {
      await db.deleteFrom('rate_windows').where('expires_at', '<', now).execute();
    },
  };
}
