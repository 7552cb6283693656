import { auditLogRepository } from '../store/repositories/audit-log.ts';
import type { Queryable } from '../store/store.ts';

export interface DecisionMinute {
  /** `YYYY-MM-DDTHH:MM`, UTC. */
  minute: string;
  allowed: number;
  /** Refusals by their error code. */
  refused: Record<string, number>;
}

/** Look at this many decisions at most: a rate for a dashboard, not a count for a report. */
export const DECISION_SAMPLE = 50_000;
/**
 * Leaves follow time closely but not exactly (concurrent appends commit in groups): the scan starts
 * this many leaves before the first event of the window, and the time filter stays exact.
 */
const LEAF_SLACK = 10_000;
const DECISION_TYPES = ['tool.decision', 'http.decision'];

/**
 * Decisions per minute since `since` (the enforcement points' `tool.decision` and `http.decision`
 * events), allowed and refused by code, oldest minute first. `sampled` says the window held more
 * than DECISION_SAMPLE decisions and the newest minutes are incomplete.
 */
export async function decisionsPerMinute(db: Queryable, since: string): Promise<{ minutes: DecisionMinute[]; sampled: boolean }> {
  const log = auditLogRepository(db);
  // Start at the window (found on the time index) rather than walk every decision ever made back to it.
  const first = await log.firstLeafSince(since);
  if (first === undefined) return { minutes: [], sampled: false };
  const rows = await log.decisionRows({ types: DECISION_TYPES, since, after: first - LEAF_SLACK - 1 >= 0 ? first - LEAF_SLACK - 1 : undefined, limit: DECISION_SAMPLE + 1 });
  const byMinute = new Map<string, DecisionMinute>();
  for (const row of rows.slice(0, DECISION_SAMPLE)) {
    const minute = row.time.slice(0, 16);
    const bucket = byMinute.get(minute) ?? { minute, allowed: 0, refused: {} };
    byMinute.set(minute, bucket);
    if (row.decision === 'allow') bucket.allowed += 1;
    else {
      const code = denialOf(row.body);
      bucket.refused[code] = (bucket.refused[code] ?? 0) + 1;
    }
  }
  return { minutes: [...byMinute.values()], sampled: rows.length > DECISION_SAMPLE };
}

/** The stable error code a denial recorded; only denials' bodies are read. */
function denialOf(body: string | null): string {
  try {
    const reason = (JSON.parse(body ?? '{}') as { denial_reason?: unknown }).denial_reason;
    return typeof reason === 'string' ? reason : 'unknown';
  } catch {
    return 'unknown';
  }
}
