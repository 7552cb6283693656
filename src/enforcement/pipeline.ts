import { stepTimer } from '../telemetry/metrics.ts';
import { endSpan, startChild } from '../telemetry/trace.ts';
import type { CallContext, Step } from './call-context.ts';
import { records } from './records.ts';
import { approval, audit, behavior, budget, commit, policy, rate, scope, settle } from './steps.ts';

/**
 * The decision path every enforcement point runs for a call, in order. Adding, removing or
 * reordering a step is one line here. Without governance, rate, budget, behavior, approval's
 * hold, commit and settle pass every call on, and the path is scope → records → policy → audit
 * (records passes calls under a mandate without record constraints).
 */
export const DECISION_PATH: readonly Step[] = [
  { name: 'rate', run: rate },
  { name: 'scope', run: scope },
  { name: 'records', run: records },
  { name: 'budget', run: budget },
  { name: 'behavior', run: behavior },
  { name: 'policy', run: policy },
  { name: 'approval', run: approval },
  { name: 'commit', run: commit },
  { name: 'audit', run: audit, recordsRefusals: true },
  { name: 'settle', run: settle, recordsRefusals: true },
];

/**
 * Runs the steps over one call. DESIGN §5, fail closed: a governance step that cannot run (store
 * down) refuses the call and gives back what `commit` took; the audit step refuses a call whose
 * decision cannot be recorded, so nothing is forwarded unaudited.
 */
export async function runDecisionPath(call: CallContext, path: readonly Step[] = DECISION_PATH): Promise<CallContext> {
  // One clock reading per step: where one step ends the next begins.
  let clock = performance.now();
  for (const step of path) {
    if (call.refusal && !step.recordsRefusals) continue;
    // One child span per step of the call's span (none when tracing is off).
    call.step = startChild(call.request.trace, `step ${step.name}`);
    const refusedBefore = call.refusal;
    const started = clock;
    try {
      call.refusal = (await step.run(call)) ?? call.refusal;
      clock = performance.now();
      stepTimer(step.name).observe((clock - started) / 1000);
      endSpan(call.step, { code: call.refusal !== refusedBefore ? call.refusal?.code : null });
    } catch (error) {
      endSpan(call.step, { error: 'step failed' });
      if (!call.governor || step.recordsRefusals) throw error;
      await call.governor.rollback().catch(() => {});
      call.refusal = { code: 'ERR_GOVERNANCE_UNAVAILABLE', message: 'budget, rate and behavior checks could not run, so the call is refused' };
      clock = performance.now();
    }
  }
  call.step = undefined;
  return call;
}
