import { rateWindowsRepository } from '../store/repositories/rate-windows.ts';
import type { Queryable } from '../store/store.ts';
import type { GovernanceConfig } from './config.ts';

export type RateScope = 'instance' | 'agent' | 'person';

export interface RateLimited {
  scope: RateScope;
  limit: number;
  windowSeconds: number;
  /** Seconds until the window that refused the call closes. */
  retryAfter: number;
}

/**
 * Fixed-window counters shared by every replica: one upsert-increment per call counts it in the
 * window of each limited scope (instance, agent, person) and returns the new counts, so two
 * replicas never both admit the call over the limit. Refused calls count too: hammering does not
 * buy an earlier retry.
 */
export async function countCall(
  db: Queryable,
  limits: GovernanceConfig['rateLimits'],
  who: Record<RateScope, string | null>,
  now: Date,
): Promise<RateLimited | null> {
  const seconds = Math.floor(now.getTime() / 1000);
  const windows = (Object.keys(limits) as RateScope[]).flatMap((scope) => {
    const { limit, windowSeconds } = limits[scope];
    const id = who[scope];
    if (limit === 0 || id === null) return [];
    const start = seconds - (seconds % windowSeconds);
    return [{ scope, limit, windowSeconds, key: `${scope}:${id}@${start}`, end: start + windowSeconds }];
  });
  if (windows.length === 0) return null;
  const hits = await rateWindowsRepository(db).hit(windows.map((w) => ({ key: w.key, expiresAt: w.end })));
  const over = windows.filter((w) => (hits.get(w.key) ?? 0) > w.limit);
  if (over.length === 0) return null;
  // The window that reopens last is the one the agent has to wait for.
  const worst = over.reduce((a, b) => (b.end > a.end ? b : a));
  return { scope: worst.scope, limit: worst.limit, windowSeconds: worst.windowSeconds, retryAfter: Math.max(1, worst.end - seconds) };
}

/** Closed windows are of no further use. */
export async function sweepRateWindows(db: Queryable, now: Date): Promise<void> {
  await rateWindowsRepository(db).sweep(Math.floor(now.getTime() / 1000));
}
