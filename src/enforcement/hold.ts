import { decideCall } from './call.ts';
import type { CallDeps, CallOutcome, CallRequest } from './call-request.ts';
import type { ResourceKind } from './kinds.ts';

/**
 * The approval hold: where the kind holds calls (`holdsForApproval`) and approvals may be awaited
 * (`approvals.waitSeconds` > 0), a call held for a person keeps the agent's request open while the
 * person decides; a grant lets the same call through the whole decision path again.
 */
export async function decideHeld(deps: CallDeps, kind: ResourceKind, request: CallRequest): Promise<CallOutcome> {
  const outcome = await decideCall(deps, request);
  const governance = deps.governance;
  if (outcome.allowed || outcome.approval?.status !== 'pending' || !kind.holdsForApproval || !governance || governance.config.approvals.waitSeconds <= 0) return outcome;
  return (await governance.awaitDecision(outcome.approval.id, deps.now)) === 'granted' ? decideCall(deps, request) : outcome;
}
