import type { AuditEvent } from '../audit/event.ts';
import type { digestArguments } from '../audit/redact.ts';
import type { Refusal } from '../governance/governed-call.ts';
import type { CallGovernor } from '../governance/governor.ts';
import type { Decision } from '../policy/decision.ts';
import type { CallDeps, CallRequest } from './call.ts';
import { approval, audit, behavior, budget, commit, policy, rate, scope, settle } from './steps.ts';

/** One call as it goes down the decision path: what each step learned, and its refusal if any. */
export interface CallContext {
  readonly deps: CallDeps;
  readonly request: CallRequest;
  /** Budgets, rate limits, behavior and approvals for this call; absent without governance. */
  readonly governor: CallGovernor | undefined;
  readonly callId: string;
  readonly now: Date;
  readonly traceId: string | null;
  readonly digest: ReturnType<typeof digestArguments> | undefined;
  /** What the scope step found, for the trail. */
  scopeNote: string | undefined;
  /** Behavior risk, 0..100, as policy sees it. */
  risk: number;
  /** The budget left before this call, as governance reads it. */
  budgetRemaining: number | null;
  /** Policy's answer before any approval. */
  asked: Decision | null;
  /** The decision that stands (after an approval lifted what it could). */
  decision: Decision | null;
  refusal: Refusal | null;
  /** The decision's audit event, once durable. */
  event: AuditEvent | null;
}

/** A named step: it passes the call on (null) or refuses it with a catalogued code. */
export interface Step {
  name: string;
  run: (call: CallContext) => Promise<Refusal | null>;
  /** Runs for refused calls too (the trail and what follows it); every other step stops at a refusal. */
  recordsRefusals?: true;
}

/**
 * The decision path every enforcement point runs for a call, in order. Adding, removing or
 * reordering a step is one line here. Without governance, rate, budget, behavior, approval's
 * hold, commit and settle pass every call on, and the path is scope → policy → audit.
 */
export const DECISION_PATH: readonly Step[] = [
  { name: 'rate', run: rate },
  { name: 'scope', run: scope },
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
  for (const step of path) {
    if (call.refusal && !step.recordsRefusals) continue;
    try {
      call.refusal = (await step.run(call)) ?? call.refusal;
    } catch (error) {
      if (!call.governor || step.recordsRefusals) throw error;
      await call.governor.rollback().catch(() => {});
      call.refusal = { code: 'ERR_GOVERNANCE_UNAVAILABLE', message: 'budget, rate and behavior checks could not run, so the call is refused' };
    }
  }
  return call;
}
