import { type AuditRecord, instanceChain, SYSTEM_CHAIN } from '../audit/writer.ts';
import type { Principal } from '../tokens/verify-request.ts';
import { type Anomaly, ruleLabel } from './anomalies.ts';
import type { Approval } from './approvals.ts';
import type { BudgetStanding } from './budgets.ts';

/**
 * The audit records governance writes. Evidence goes in `reasons.message`; the call they belong to
 * is `data.resources[0]` (the call id of its `tool.decision` / `http.decision`).
 *
 *   type                 chain      when
 *   anomaly.detected     instance   a rule fired on a call (one event per rule)
 *   lifecycle.suspended  instance   a rule's response suspended the instance (its mandates revoked)
 *   token.revoked        instance   a mandate's budget reached zero: it and its children end
 *   approval.requested   instance   a call was held for a person
 *   approval.consumed    instance   the approved retry used the approval
 *   approval.granted     system     an approver granted it (actor.person = approver)
 *   approval.denied      system     an approver denied it
 *   approval.consent_refused system a person's consent was refused (written by the consent route)
 */
export interface CallRef {
  principal: Principal;
  action: string;
  /** `server/tool` or `connection METHOD path`, as the trail names the call. */
  label: string;
  callId: string;
  traceId: string | null;
}

const actorOf = (p: Principal) => ({ instance: p.instanceId, agent: p.agentId, person: p.person, delegation: p.delegation });
const onCall = (call: CallRef) => ({
  chain: instanceChain(call.principal.instanceId),
  actor: actorOf(call.principal),
  action: call.action,
  resource: call.label,
  trace_id: call.traceId,
});

export const anomalyDetected = (call: CallRef, anomaly: Anomaly): AuditRecord => ({
  ...onCall(call),
  type: 'anomaly.detected',
  status: 'success',
  reasons: { risk: anomaly.risk, message: `${ruleLabel[anomaly.rule]}: ${anomaly.evidence} (response: ${anomaly.response})` },
  data: { resources: [call.callId] },
});

export const instanceSuspended = (call: CallRef, anomalies: Anomaly[], revoked: string[]): AuditRecord => ({
  ...onCall(call),
  type: 'lifecycle.suspended',
  status: 'success',
  reasons: {
    risk: Math.min(100, anomalies.reduce((sum, a) => sum + a.risk, 0)),
    message: `instance ${call.principal.instanceId} suspended on ${anomalies.map((a) => ruleLabel[a.rule]).join(', ')}; ${revoked.length} mandate(s) revoked; a new instance must attest to resume`,
  },
  data: { resources: [call.callId, ...revoked.slice(0, 100)] },
});

export const mandateExhausted = (call: CallRef, standing: BudgetStanding, revoked: string[]): AuditRecord => ({
  ...onCall(call),
  type: 'token.revoked',
  status: 'success',
  reasons: { budget: { limit: standing.limit, spent: standing.spent, remaining: standing.remaining }, message: `budget exhausted: ${revoked.length} mandate(s) ended` },
  data: { resources: [call.callId, ...revoked.slice(0, 100)] },
});

export const approvalRequested = (call: CallRef, approval: Pick<Approval, 'id' | 'why' | 'risk' | 'expires_at'>): AuditRecord => ({
  ...onCall(call),
  type: 'approval.requested',
  status: 'pending',
  reasons: {
    approval: approval.id,
    ...(approval.why.policies.length > 0 ? { policies: approval.why.policies } : {}),
    ...(approval.risk ? { risk: approval.risk } : {}),
    message: `${[...approval.why.reasons, ...approval.why.anomalies].join('; ')} (expires ${approval.expires_at})`,
  },
  data: { resources: [call.callId, approval.id], expires_at: approval.expires_at, ...(approval.why.consent === true && call.principal.person ? { consent: true } : {}) },
});

export const approvalConsumed = (call: CallRef, approvalId: string): AuditRecord => ({
  ...onCall(call),
  type: 'approval.consumed',
  status: 'success',
  reasons: { approval: approvalId },
  data: { resources: [call.callId, approvalId] },
});

export const approvalDecided = (approval: Approval, by: string, consent = false): AuditRecord => ({
  chain: SYSTEM_CHAIN,
  type: approval.status === 'granted' ? 'approval.granted' : 'approval.denied',
  actor: { instance: null, agent: null, person: by, delegation: [] },
  action: `approval:${approval.status === 'granted' ? 'approve' : 'deny'}`,
  resource: approval.resource,
  status: 'success',
  reasons: { approval: approval.id, ...(consent ? { message: `consent of the person the agent acts for${approval.note ? `: ${approval.note}` : ''}` } : approval.note ? { message: approval.note } : {}) },
  data: { resources: [approval.id, approval.mandate, `instance:${approval.instance}`] },
});
