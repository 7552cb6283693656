import type { Queryable } from '../store.ts';

/** What the reaper removes for good: credentials past their expiry, which nothing may use again. */
export interface ReapingRepository {
  /** Join tokens past expiry (ids only), oldest first. */
  expiredJoinTokens(now: string): Promise<string[]>;
  /** Operator API tokens past expiry (ids only), oldest first. */
  expiredOperatorTokens(now: string): Promise<string[]>;
  /** Delete those of the given ids that are still there and still expired; the ids deleted. */
  purgeJoinTokens(ids: readonly string[], now: string): Promise<string[]>;
  purgeOperatorTokens(ids: readonly string[], now: string): Promise<string[]>;
}

export function reapingRepository(db: Queryable): ReapingRepository {
  return {
    expiredJoinTokens: async (now) => (await db.selectFrom('join_tokens').select('id').where('expires_at', '<=', now).orderBy('expires_at').orderBy('id').execute()).map((r) => r.id),
    expiredOperatorTokens: async (now) =>
      (await db.selectFrom('admin_tokens').select('id').where('expires_at', 'is not', null).where('expires_at', '<=', now).orderBy('expires_at').orderBy('id').execute()).map((r) => r.id),
    purgeJoinTokens: async (ids, now) =>
      ids.length === 0 ? [] : (await db.deleteFrom('join_tokens').where('id', 'in', [...ids]).where('expires_at', '<=', now).returning('id').execute()).map((r) => r.id),
    purgeOperatorTokens: async (ids, now) =>
      ids.length === 0
        ? []
        : (await db.deleteFrom('admin_tokens').where('id', 'in', [...ids]).where('expires_at', 'is not', null).where('expires_at', '<=', now).returning('id').execute()).map((r) => r.id),
  };
}
