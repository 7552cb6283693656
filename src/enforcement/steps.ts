import { type AuditRecord, instanceChain } from '../audit/writer.ts';
import type { Refusal } from '../governance/governed-call.ts';
import type { ApprovalState } from '../governance/governed-call.ts';
import type { Decision } from '../policy/decision.ts';
import { inSpan } from '../telemetry/trace.ts';
import { permits } from '../tokens/scope.ts';
import { actorOf, methodOf } from './trail.ts';
import { decisionRequest } from './decision-request.ts';
import { auditFamilyOf } from './kinds.ts';
import type { CallContext } from './call-context.ts';

// The steps of `DECISION_PATH`, in its order. Each reads and adds to one call context.

/** Rate limits (instance, agent, person) → ERR_RATE_LIMITED with the seconds to wait. */
export const rate = async (call: CallContext): Promise<Refusal | null> => (call.governor ? call.governor.limitRate() : null);

/** The mandate covers this exact call → else ERR_SCOPE_NOT_GRANTED. */
export async function scope(call: CallContext): Promise<Refusal | null> {
  const { principal, scopeItem } = call.request;
  const covered = permits(principal.scope, scopeItem);
  call.scopeNote = `${scopeItem} ${covered ? 'covered' : 'not covered'}`;
  return covered ? null : { code: 'ERR_SCOPE_NOT_GRANTED', message: `the mandate does not cover ${scopeItem}` };
}

/** Budget standing → ERR_BUDGET_EXHAUSTED once the mandate's budget is spent (the mandate ends). */
export async function budget(call: CallContext): Promise<Refusal | null> {
  if (!call.governor) return null;
  const standing = await call.governor.standing();
  if ('code' in standing) return standing;
  call.budgetRemaining = standing.budgetRemaining;
  return null;
}

/** Baseline + anomaly rules raise the risk; a `suspend` response → ERR_INSTANCE_SUSPENDED. */
export async function behavior(call: CallContext): Promise<Refusal | null> {
  if (!call.governor) return null;
  const refusal = await call.governor.behavior();
  call.risk = Math.min(100, call.risk + call.governor.risk);
  return refusal;
}

/** Cedar decides with the full context → ERR_POLICY_DENIED, unless a person may lift the denial. */
export async function policy(call: CallContext): Promise<Refusal | null> {
  // With governance, only governance says whether a person approved the call.
  call.asked = decide(call, call.governor ? 'none' : (call.request.approval ?? 'none'));
  if (call.asked.decision === 'allow' || call.asked.obligations.approval === 'required') return null;
  call.decision = call.asked;
  return { code: 'ERR_POLICY_DENIED', message: call.asked.obligations.reasons[0] ?? 'denied by policy' };
}

/**
 * A person's approval lifts what policy (or an `approve` anomaly response) holds; otherwise the
 * call is held as a pending approval → ERR_APPROVAL_REQUIRED, or ERR_APPROVAL_DENIED.
 */
export async function approval(call: CallContext): Promise<Refusal | null> {
  let decision = call.asked!;
  if (call.governor) {
    const resolved = await call.governor.resolve(decision, (state) => decide(call, state));
    call.decision = resolved.decision;
    if (resolved.refusal) return resolved.refusal;
    decision = resolved.decision;
  }
  call.decision = decision;
  if (decision.decision === 'allow') return null;
  return { code: decision.obligations.approval === 'required' ? 'ERR_APPROVAL_REQUIRED' : 'ERR_POLICY_DENIED', message: decision.obligations.reasons[0] ?? 'denied by policy' };
}

/**
 * Consume the approval, debit the budget, learn the call → ERR_APPROVAL_USED, ERR_BUDGET_EXCEEDED.
 * Where the trail can carry them, these writes ride in the decision event's transaction instead
 * (the `audit` step): one durable commit for both, group-committed across calls.
 */
export const commit = async (call: CallContext): Promise<Refusal | null> => (call.governor && !ridesWithDecision(call) ? call.governor.commit() : null);

/**
 * The decision, allow or deny, durable in the trail before anything is forwarded → else
 * ERR_AUDIT_UNAVAILABLE. An allowed call's DPoP proof and governance writes commit in the same
 * transaction (→ ERR_DPOP_REPLAY when another call committed the proof first); a refused call's
 * proof is recorded on its own, before its decision.
 */
export async function audit(call: CallContext): Promise<Refusal | null> {
  const { governor } = call;
  const proof = call.request.principal.proof?.recorded === false ? call.request.principal.proof : undefined;
  try {
    if (ridesWithDecision(call) && (governor || proof)) {
      call.event = await inSpan(call.step, 'audit commit', () =>
        call.deps.audit.appendWithin!(
          async (db) => {
            await governor?.commitWithin(db);
            if (proof && !(await proof.recordWithin(db, call.now))) throw new ProofReplayed();
            return decisionRecord(call);
          },
          (error) => {
            call.refusal = error instanceof ProofReplayed ? REPLAYED : governor ? governor.refusalOf(error) : UNAVAILABLE;
            return decisionRecord(call);
          },
        ),
      );
      if (proof && !call.refusal) proof.committed();
      // Refused within the transaction: its writes, the proof's record among them, went back.
      else if (proof && call.refusal !== REPLAYED) await proof.record();
      return call.refusal;
    }
    if (proof && !(await proof.record()) && !call.refusal) {
      call.refusal = REPLAYED;
      await governor?.rollback();
    }
    call.event = await inSpan(call.step, 'audit commit', () => call.deps.audit.append(decisionRecord(call)));
    return null;
  } catch {
    await governor?.rollback().catch(() => {});
    return { code: 'ERR_AUDIT_UNAVAILABLE', message: 'the call could not be recorded, so it is refused' };
  }
}

class ProofReplayed extends Error {}
const REPLAYED: Refusal = { code: 'ERR_DPOP_REPLAY', message: 'DPoP proof jti has already been used' };
const UNAVAILABLE: Refusal = { code: 'ERR_AUDIT_UNAVAILABLE', message: 'the call could not be recorded, so it is refused' };

/** An allowed call's writes share the decision's transaction when the trail has a store. */
const ridesWithDecision = (call: CallContext): boolean => call.refusal === null && call.deps.audit.appendWithin !== undefined;

function decisionRecord(call: CallContext): AuditRecord {
  const { request, refusal, decision } = call;
  const code = refusal?.code ?? null;
  const message = refusal?.message ?? '';
  return {
    chain: instanceChain(request.principal.instanceId),
    type: `${auditFamilyOf(request.action)}.decision`,
    actor: actorOf(request.principal),
    action: request.action,
    resource: request.label,
    trace_id: call.traceId,
    cost: request.resource.cost ?? 0,
    ...(call.digest ? { args_digest: call.digest.args_digest, args: call.digest.args } : {}),
    decision: code ? 'deny' : 'allow',
    status: code ? 'failure' : 'success',
    denial_reason: code,
    policy_version: decision?.version ?? null,
    reasons: {
      ...(call.scopeNote ? { scope: call.scopeNote } : {}),
      ...(call.recordNote ? { record: call.recordNote } : {}),
      ...(decision ? { policies: [...decision.policies, ...decision.liftedByApproval] } : {}),
      ...(message ? { message } : {}),
      ...(call.governor?.notes() ?? {}),
      ...(call.risk ? { risk: call.risk } : {}),
    },
    data: { resources: [call.callId], ...methodOf(request) },
  };
}

/** After the decision is durable: approval events, spent mandates end. Changes no decision. */
export async function settle(call: CallContext): Promise<Refusal | null> {
  if (call.event) await call.governor?.settle(!call.refusal);
  return null;
}

function decide(call: CallContext, approval: ApprovalState): Decision {
  const { request, governor } = call;
  const { principal } = request;
  return call.deps.authorizer.decide(
    decisionRequest({
      principal,
      card: request.card,
      action: request.action,
      resource: request.resource,
      budgetRemaining: governor ? Math.min(call.budgetRemaining ?? Infinity, request.budgetRemaining ?? Infinity) : (request.budgetRemaining ?? principal.claims.budget),
      risk: call.risk,
      approval,
      traceId: call.traceId,
      now: call.now,
      args: call.deps.authorizer.readsArguments ? request.callArguments : undefined,
    }),
  );
}
