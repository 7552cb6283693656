import type { Baseline, CallShape } from './baseline.ts';
import type { GovernanceConfig, Response, RuleName } from './config.ts';
import { compileMarkers, findInjection } from './injection.ts';

/**
 * Anomaly rules: this call compared with the agent's baseline. Each rule is a small function that
 * returns its evidence or null; the configuration gives each its risk and response. Baseline rules
 * wait for the warm-up (an agent's first calls are all "new"); injection markers never wait.
 *
 *   rule             fires when                                                     evidence
 *   new-tool         the agent never called this tool before                         tool, calls learned
 *   burst            calls this minute > factor × mean per active minute, ≥ minCalls rate, mean
 *   off-hours        on < minShare of its earlier active days (≥ minDays) the agent     hour, days
 *                    worked in this hour of the day
 *   long-chain       chain longer than the longest seen + margin                       lengths
 *   injection        a marker phrase in any string argument                          marker, argument path
 *   new-destination  an outbound host the agent never reached                          host
 */
export interface Anomaly {
  rule: RuleName;
  risk: number;
  response: Response;
  evidence: string;
}

export interface CallSignals {
  agentId: string;
  now: Date;
  shape: CallShape;
  args: Record<string, unknown> | undefined;
}

type Check = (call: CallSignals, baseline: Baseline, config: GovernanceConfig['behavior']) => string | null;

const checks: Record<RuleName, Check> = {
  newTool: ({ agentId, shape }, b) => (b.toolCalls === 0 ? `${agentId} never called ${shape.tool} in ${b.total} calls` : null),
  burst: (_call, b, { burst }) => {
    const thisMinute = b.minuteCalls + 1;
    const earlier = b.activeMinutes - (b.minuteCalls > 0 ? 1 : 0);
    const mean = earlier > 0 ? (b.total - b.minuteCalls) / earlier : 0;
    if (mean === 0 || thisMinute < burst.minCalls || thisMinute <= burst.factor * mean) return null;
    return `${thisMinute} calls this minute, ${(thisMinute / mean).toFixed(1)}× the usual ${mean.toFixed(1)} per active minute`;
  },
  offHours: ({ shape }, b, { offHours, timeZone }) => {
    // Usual hours mean something only once there are earlier days to compare with.
    if (b.earlierDays < offHours.minDays || b.earlierHourDays / b.earlierDays >= offHours.minShare) return null;
    return `active at ${String(shape.hour).padStart(2, '0')}:00 ${timeZone}, an hour it worked in on ${b.earlierHourDays} of its ${b.earlierDays} earlier active days`;
  },
  longChain: ({ shape }, b, { longChain }) =>
    b.longestChain > 0 && shape.chain > b.longestChain + longChain.margin ? `delegation chain of ${shape.chain}, longest usual ${b.longestChain}` : null,
  injection: () => null,
  newDestination: ({ shape }, b) => (shape.destination && b.destinationCalls === 0 ? `first call to ${shape.destination}` : null),
};

const markerCache = new WeakMap<object, ReturnType<typeof compileMarkers>>();

export function detectAnomalies(call: CallSignals, baseline: Baseline, config: GovernanceConfig['behavior']): Anomaly[] {
  const found: Anomaly[] = [];
  const warm = baseline.total >= config.warmupCalls;
  for (const rule of Object.keys(checks) as RuleName[]) {
    const settings = config[rule];
    if (!settings.enabled) continue;
    let evidence: string | null;
    if (rule === 'injection') {
      let markers = markerCache.get(config.injection);
      if (!markers) markerCache.set(config.injection, (markers = compileMarkers(config.injection.markers)));
      const match = call.args ? findInjection(call.args, markers) : null;
      evidence = match ? `injection marker "${match.marker}" in argument ${match.path.slice(0, 200)}` : null;
    } else {
      evidence = warm ? checks[rule](call, baseline, config) : null;
    }
    if (evidence) found.push({ rule, risk: settings.risk, response: settings.response, evidence });
  }
  return found;
}

/** Rule names as the trail spells them. */
export const ruleLabel: Record<RuleName, string> = {
  newTool: 'new-tool',
  burst: 'burst',
  offHours: 'off-hours',
  longChain: 'long-chain',
  injection: 'injection',
  newDestination: 'new-destination',
};
