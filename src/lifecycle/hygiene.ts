import { listAgents } from '../registry/agents.ts';
import { listOperators } from '../store/operators.ts';
import { agentFlagsRepository } from '../store/repositories/agent-flags.ts';
import { findingsRepository } from '../store/repositories/findings.ts';
import { personsRepository } from '../store/repositories/persons.ts';
import { lifecycleEvidenceRepository } from '../store/repositories/lifecycle-evidence.ts';
import { reviewsRepository } from '../store/repositories/reviews.ts';
import { secretsRepository } from '../store/repositories/secrets.ts';
import { signingKeysRepository } from '../store/repositories/signing-keys.ts';
import type { Queryable } from '../store/store.ts';
import { daysBefore, unusedItems, usesSince } from './usage.ts';

/**
 * The hygiene report (issue 18): what a security engineer checks every week, from the registry,
 * the trail and the queues, with counts and their trend since the last report of an earlier day.
 *
 *   without_owner     live agents whose card names no owner
 *   orphaned          live agents whose owner is no operator or active SCIM person Mandate knows, or flagged orphaned at offboarding
 *   stale             live agents with no event in the trail for `stale_days` (older ones only)
 *   over_privileged   live agents holding toolset items no allowed call used for `stale_days`
 *   old_secrets       secrets not rotated for `max_key_age_days`
 *   old_signing_keys  signing keys still signing, older than `max_key_age_days`
 *   open_findings     discovery findings nobody claimed or dismissed
 *   overdue_reviews   review items still pending past their campaign's due date
 */
export const HYGIENE_COUNTS = ['agents', 'without_owner', 'orphaned', 'stale', 'over_privileged', 'old_secrets', 'old_signing_keys', 'open_findings', 'overdue_reviews'] as const;
export type HygieneCount = (typeof HYGIENE_COUNTS)[number];

export interface HygieneOptions {
  staleDays: number;
  maxKeyAgeDays: number;
}

export interface HygieneReport {
  generated_at: string;
  settings: { stale_days: number; max_key_age_days: number };
  counts: Record<HygieneCount, number>;
  trend: { previous_at: string | null; previous: Partial<Record<HygieneCount, number>>; delta: Partial<Record<HygieneCount, number>>; history: Array<{ day: string; counts: Partial<Record<HygieneCount, number>> }> };
  without_owner: Array<{ agent: string; environment: string; status: string }>;
  orphaned: Array<{ agent: string; owner: string; environment: string }>;
  stale: Array<{ agent: string; owner: string | null; last_activity: string | null; created_at: string }>;
  over_privileged: Array<{ agent: string; owner: string | null; unused: string[]; granted: number }>;
  old_secrets: Array<{ name: string; updated_at: string; age_days: number }>;
  old_signing_keys: Array<{ kid: string; created_at: string; age_days: number }>;
  open_findings: Array<{ id: string; severity: string; scanner: string; title: string; last_seen: string }>;
  overdue_reviews: Array<{ campaign: string; agent: string; owner: string | null }>;
}

const ageDays = (now: Date, at: string) => Math.floor((now.getTime() - Date.parse(at)) / 86_400_000);
const day = (at: Date) => at.toISOString().slice(0, 10);

export async function hygieneReport(db: Queryable, now: Date, options: HygieneOptions): Promise<HygieneReport> {
  const live = (await listAgents(db)).filter((a) => a.status !== 'retired');
  const operators = await listOperators(db);
  // Owners Mandate knows: operators, and persons the enterprise's IdP keeps active over SCIM.
  const persons = (await personsRepository(db).list({ offset: 0, limit: 100_000 })).filter((p) => p.active && !p.left_at);
  const known = new Set([...operators.flatMap((o) => [o.subject, o.email]), ...persons.flatMap((p) => [p.user_name, p.email ?? ''])].filter(Boolean).map((v) => v.toLowerCase()));
  // Flags raised by offboarding (`orphaned`) and clean-up (`stale`).
  const flagged = new Map<string, Set<string>>();
  for (const flag of await agentFlagsRepository(db).list()) flagged.set(flag.agent_id, (flagged.get(flag.agent_id) ?? new Set()).add(flag.flag));
  const flagOf = (agent: string, flag: string) => flagged.get(agent)?.has(flag) === true;
  const evidence = lifecycleEvidenceRepository(db);
  const activity = await evidence.lastActivity();
  const window = daysBefore(now, options.staleDays);
  const uses = await usesSince(db, window, live.map((a) => a.id));
  const olderThanWindow = (at: string) => Date.parse(at) <= window.getTime();
  const keyLimit = daysBefore(now, options.maxKeyAgeDays).getTime();

  const report: Omit<HygieneReport, 'counts' | 'trend'> = {
    generated_at: now.toISOString(),
    settings: { stale_days: options.staleDays, max_key_age_days: options.maxKeyAgeDays },
    without_owner: live.filter((a) => !a.owner).map((a) => ({ agent: a.id, environment: a.environment, status: a.status })),
    orphaned: live.filter((a) => a.owner && (flagOf(a.id, 'orphaned') || !known.has(a.owner.toLowerCase()))).map((a) => ({ agent: a.id, owner: a.owner!, environment: a.environment })),
    stale: live
      .filter((a) => a.status === 'active' && (flagOf(a.id, 'stale') || (olderThanWindow(a.created_at) && !(activity.get(a.id) && !olderThanWindow(activity.get(a.id)!)))))
      .map((a) => ({ agent: a.id, owner: a.owner, last_activity: activity.get(a.id) ?? null, created_at: a.created_at })),
    over_privileged: live
      .filter((a) => a.status === 'active' && olderThanWindow(a.created_at))
      .map((a) => ({ agent: a.id, owner: a.owner, unused: unusedItems(a.toolset, uses.get(a.id) ?? []), granted: a.toolset.length }))
      .filter((a) => a.unused.length > 0),
    old_secrets: (await secretsRepository(db).list()).filter((s) => Date.parse(s.updated_at) <= keyLimit).map((s) => ({ name: s.name, updated_at: s.updated_at, age_days: ageDays(now, s.updated_at) })),
    old_signing_keys: (await signingKeysRepository(db).list())
      .filter((k) => !k.retired_at && !k.revoked_at && Date.parse(k.created_at) <= keyLimit)
      .map((k) => ({ kid: k.kid, created_at: k.created_at, age_days: ageDays(now, k.created_at) })),
    open_findings: (await findingsRepository(db).list({ status: 'open', limit: 1000 })).map((f) => ({ id: f.id, severity: f.severity, scanner: f.scanner, title: f.title, last_seen: f.last_seen })),
    overdue_reviews: (await reviewsRepository(db).overdueItems(now.toISOString())).map((i) => ({ campaign: i.campaign_id, agent: i.agent_id, owner: i.owner })),
  };
  const counts = { agents: live.length } as Record<HygieneCount, number>;
  for (const key of HYGIENE_COUNTS.slice(1)) counts[key] = (report[key as Exclude<HygieneCount, 'agents'>] as unknown[]).length;

  // The trend: today's counts replace today's snapshot; the comparison is with the last earlier day.
  await evidence.addSnapshot(day(now), JSON.stringify(counts));
  const history = (await evidence.snapshots(30)).map((s) => ({ day: s.taken_at, counts: JSON.parse(s.counts) as Partial<Record<HygieneCount, number>> })).reverse();
  const previous = [...history].reverse().find((s) => s.day < day(now));
  const delta: Partial<Record<HygieneCount, number>> = {};
  if (previous) for (const key of HYGIENE_COUNTS) delta[key] = counts[key] - (previous.counts[key] ?? 0);
  return { ...report, counts, trend: { previous_at: previous?.day ?? null, previous: previous?.counts ?? {}, delta, history } };
}
