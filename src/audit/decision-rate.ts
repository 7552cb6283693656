import type { Queryable } from '../store/store.ts';
import { queryEvents } from './log-store.ts';

export interface DecisionMinute {
  /** `YYYY-MM-DDTHH:MM`, UTC. */
  minute: string;
  allowed: number;
  /** Refusals by their error code. */
  refused: Record<string, number>;
}

/** Look at this many decisions at most: a rate for a dashboard, not a count for a report. */
export const DECISION_SAMPLE = 20_000;

/**
 * Decisions per minute since `since` (the enforcement points' `tool.decision` and `http.decision`
 * events), allowed and refused by code, newest minute last. `sampled` says the window held more
 * than DECISION_SAMPLE decisions and the oldest minutes are incomplete.
 */
export async function decisionsPerMinute(db: Queryable, since: string): Promise<{ minutes: DecisionMinute[]; sampled: boolean }> {
  const byMinute = new Map<string, DecisionMinute>();
  let sampled = false;
  for (const type of ['tool.decision', 'http.decision']) {
    const page = await queryEvents(db, { type, since }, { limit: DECISION_SAMPLE, order: 'desc' });
    sampled ||= page.next_cursor !== null;
    for (const { event } of page.events) {
      const minute = event.time.slice(0, 16);
      const bucket = byMinute.get(minute) ?? { minute, allowed: 0, refused: {} };
      byMinute.set(minute, bucket);
      if (event.decision === 'allow') bucket.allowed += 1;
      else {
        const code = event.denial_reason ?? 'unknown';
        bucket.refused[code] = (bucket.refused[code] ?? 0) + 1;
      }
    }
  }
  return { minutes: [...byMinute.values()].sort((a, b) => a.minute.localeCompare(b.minute)), sampled };
}
