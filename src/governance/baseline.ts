import { baselinesRepository } from '../store/repositories/baselines.ts';
import type { Queryable } from '../store/store.ts';

/**
 * An agent's behavioral baseline, kept compact as counters in `behavior_baselines` and learned
 * from its allowed calls: how many calls in all, per tool, per delegation chain length, per
 * outbound destination; on how many days it was active, and on how many of them in each hour of
 * the day (so one busy night does not make the night usual); per minute, with the number of
 * active minutes (so the mean rate per active minute follows). Every update is an
 * upsert-increment: replicas share one baseline.
 *
 *   kind         key                 hits
 *   total        ''                  allowed calls
 *   tool         server/tool         calls of that tool
 *   chain        length              calls with that delegation chain length
 *   destination  host                calls to that outbound host
 *   minutes      ''                  active minutes
 *   minute       epoch minute        calls in that minute (recent rows only)
 *   days         ''                  active days
 *   day          YYYY-MM-DD          calls that day (recent rows only)
 *   hour         0..23               active days with a call in that hour
 *   dayhour      YYYY-MM-DDTHH       calls in that hour of that day (recent rows only)
 */
export interface CallShape {
  /** `server/tool` or `connection/endpoint`: what the agent reached. */
  tool: string;
  /** Date and hour of the day (0..23) in the configured time zone. */
  day: string;
  hour: number;
  /** Length of the delegation chain, person included. */
  chain: number;
  /** Outbound host, for calls that leave through the broker. */
  destination: string | null;
  /** Minutes since the epoch. */
  minute: number;
}

export interface Baseline {
  /** Allowed calls learned so far. */
  total: number;
  activeMinutes: number;
  toolCalls: number;
  /** Active days before this call's day. */
  earlierDays: number;
  /** Of those, the days with a call in this call's hour of the day. */
  earlierHourDays: number;
  /** Allowed calls already made in this call's minute. */
  minuteCalls: number;
  destinationCalls: number | null;
  /** Longest chain seen so far (0 before any call). */
  longestChain: number;
}

const MINUTE_DIGITS = 10;
const minuteKey = (minute: number) => String(minute).padStart(MINUTE_DIGITS, '0');
const dayHourKey = (shape: CallShape) => `${shape.day}T${String(shape.hour).padStart(2, '0')}`;

export async function readBaseline(db: Queryable, agentId: string, shape: CallShape): Promise<Baseline> {
  const rows = await baselinesRepository(db).read(
    agentId,
    ['total', 'minutes', 'days', 'chain'],
    [
      ['tool', shape.tool],
      ['hour', String(shape.hour)],
      ['minute', minuteKey(shape.minute)],
      ['day', shape.day],
      ['dayhour', dayHourKey(shape)],
      ...(shape.destination ? [['destination', shape.destination] as const] : []),
    ],
  );
  const baseline: Baseline = { total: 0, activeMinutes: 0, toolCalls: 0, earlierDays: 0, earlierHourDays: 0, minuteCalls: 0, destinationCalls: shape.destination ? 0 : null, longestChain: 0 };
  let today = false;
  let thisHourToday = false;
  for (const row of rows) {
    const hits = Number(row.hits);
    if (row.kind === 'total') baseline.total = hits;
    else if (row.kind === 'minutes') baseline.activeMinutes = hits;
    else if (row.kind === 'days') baseline.earlierDays = hits;
    else if (row.kind === 'day') today = true;
    else if (row.kind === 'dayhour') thisHourToday = true;
    else if (row.kind === 'chain') baseline.longestChain = Math.max(baseline.longestChain, Number(row.key));
    else if (row.kind === 'tool') baseline.toolCalls = hits;
    else if (row.kind === 'hour') baseline.earlierHourDays = hits;
    else if (row.kind === 'minute') baseline.minuteCalls = hits;
    else if (row.kind === 'destination') baseline.destinationCalls = hits;
  }
  // Today is not yet history: a busy night must not make the night usual while it lasts.
  if (today) baseline.earlierDays -= 1;
  if (thisHourToday) baseline.earlierHourDays -= 1;
  return baseline;
}

const upsert = (db: Queryable, agentId: string, keys: Array<[string, string]>, at: string) => baselinesRepository(db).count(agentId, keys, at);

/** Count one allowed call into the agent's baseline: one statement, two when a minute, hour or day begins. */
export async function learnCall(db: Queryable, agentId: string, shape: CallShape, now: Date): Promise<void> {
  const at = now.toISOString();
  const counted = await upsert(
    db,
    agentId,
    [
      ['total', ''],
      ['tool', shape.tool],
      ['chain', String(shape.chain)],
      ['minute', minuteKey(shape.minute)],
      ['day', shape.day],
      ['dayhour', dayHourKey(shape)],
      ...(shape.destination ? [['destination', shape.destination] as [string, string]] : []),
    ],
    at,
  );
  const began = new Set(counted.filter((row) => Number(row.hits) === 1).map((row) => row.kind));
  const follow: Array<[string, string]> = [];
  if (began.has('minute')) follow.push(['minutes', '']);
  if (began.has('day')) follow.push(['days', '']);
  if (began.has('dayhour')) follow.push(['hour', String(shape.hour)]);
  if (follow.length > 0) await upsert(db, agentId, follow, at);
}

/** Per-minute, per-day and per-day-hour rows only tell whether one has begun; old ones go. */
export async function sweepBaselines(db: Queryable, now: Date): Promise<void> {
  const current = Math.floor(now.getTime() / 60_000);
  await baselinesRepository(db).removeBefore(['minute'], minuteKey(current - 5));
  const twoDaysAgo = new Date(now.getTime() - 2 * 86_400_000).toISOString().slice(0, 10);
  await baselinesRepository(db).removeBefore(['day', 'dayhour'], twoDaysAgo);
}

const formats = new Map<string, Intl.DateTimeFormat>();

/** The date (YYYY-MM-DD) and hour of the day (0..23) of `now` in `timeZone`. */
export function localTime(now: Date, timeZone: string): { day: string; hour: number } {
  if (timeZone === 'UTC') return { day: now.toISOString().slice(0, 10), hour: now.getUTCHours() };
  let format = formats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', hourCycle: 'h23' });
    formats.set(timeZone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(now).map((p) => [p.type, p.value]));
  return { day: `${parts.year}-${parts.month}-${parts.day}`, hour: Number(parts.hour) };
}
