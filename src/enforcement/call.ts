import crypto from 'node:crypto';
import type { AuditEvent } from '../audit/event.ts';
import { digestArguments } from '../audit/redact.ts';
import { type AuditWriter, instanceChain } from '../audit/writer.ts';
import type { Authorizer } from '../policy/authorizer.ts';
import type { Decision } from '../policy/decision.ts';
import type { DecisionRequest, ResourceInput } from '../policy/request.ts';
import type { AgentCard } from '../registry/agent-card.ts';
import { permits } from '../tokens/scope.ts';
import type { Principal } from '../tokens/verify-request.ts';
import { decisionRequest } from './decision-request.ts';

/**
 * The one decision path every enforcement point (MCP gateway, credential broker) runs for a call:
 *   1. scope: the mandate covers this exact call          3. the decision is audited, and must be
 *   2. policy: Cedar decides with the full context            durable before anything is forwarded
 * A denial carries a stable code and the message for the agent; a failed audit append denies.
 */
export interface CallDeps {
  authorizer: Authorizer;
  audit: AuditWriter;
  /** HMAC key for argument digests (never the clear arguments in the trail). */
  auditKey: Uint8Array;
  now: () => Date;
}

export interface CallRequest {
  principal: Principal;
  card: AgentCard;
  action: DecisionRequest['action'];
  /** The concrete scope item this call needs, e.g. `tool:github/create_issue`. */
  scopeItem: string;
  resource: ResourceInput;
  /** `server/tool` or `connection METHOD path`, as the trail names it. */
  label: string;
  args?: Record<string, unknown>;
  /** Top-level argument fields safe to keep in clear. */
  allowArgs?: readonly string[];
  traceId?: string | null;
  budgetRemaining?: number | null;
  risk?: number;
  approval?: 'none' | 'pending' | 'granted' | 'denied';
}

export type CallOutcome =
  | { allowed: true; decision: Decision; event: AuditEvent; callId: string }
  | { allowed: false; code: string; message: string; decision: Decision | null; approvalRequired: boolean; event: AuditEvent | null };

const actorOf = (p: Principal) => ({ instance: p.instanceId, agent: p.agentId, person: p.person, delegation: p.delegation });

export async function decideCall(deps: CallDeps, request: CallRequest): Promise<CallOutcome> {
  const { principal } = request;
  const callId = crypto.randomUUID();
  const digest = request.args ? digestArguments(request.args, { key: deps.auditKey, allow: request.allowArgs ?? [] }) : undefined;
  const base = {
    chain: instanceChain(principal.instanceId),
    type: request.action === 'http:request' ? ('http.decision' as const) : ('tool.decision' as const),
    actor: actorOf(principal),
    action: request.action,
    resource: request.label,
    trace_id: request.traceId ?? null,
    cost: request.resource.cost ?? 0,
    ...(digest ? { args_digest: digest.args_digest, args: digest.args } : {}),
  };

  let decision: Decision | null = null;
  let code: string | null = null;
  let message = '';
  let scopeNote: string;
  if (!permits(principal.scope, request.scopeItem)) {
    code = 'ERR_SCOPE_NOT_GRANTED';
    message = `the mandate does not cover ${request.scopeItem}`;
    scopeNote = `${request.scopeItem} not covered`;
  } else {
    scopeNote = `${request.scopeItem} covered`;
    decision = deps.authorizer.decide(
      decisionRequest({
        principal,
        card: request.card,
        action: request.action,
        resource: request.resource,
        budgetRemaining: request.budgetRemaining ?? principal.claims.budget,
        risk: request.risk ?? 0,
        approval: request.approval ?? 'none',
        traceId: request.traceId ?? null,
        now: deps.now(),
      }),
    );
    if (decision.decision === 'deny') {
      code = decision.obligations.approval === 'required' ? 'ERR_APPROVAL_REQUIRED' : 'ERR_POLICY_DENIED';
      message = decision.obligations.reasons[0] ?? 'denied by policy';
    }
  }

  let event: AuditEvent;
  try {
    event = await deps.audit.append({
      ...base,
      decision: code ? 'deny' : 'allow',
      status: code ? 'failure' : 'success',
      denial_reason: code,
      policy_version: decision?.version ?? null,
      reasons: {
        scope: scopeNote,
        ...(decision ? { policies: [...decision.policies, ...decision.liftedByApproval] } : {}),
        ...(message ? { message } : {}),
        ...(request.risk ? { risk: request.risk } : {}),
      },
      data: { resources: [callId] },
    });
  } catch {
    // DESIGN §5: nothing is forwarded unaudited.
    return { allowed: false, code: 'ERR_AUDIT_UNAVAILABLE', message: 'the call could not be recorded, so it is refused', decision, approvalRequired: false, event: null };
  }
  if (code) return { allowed: false, code, message, decision, approvalRequired: code === 'ERR_APPROVAL_REQUIRED', event };
  return { allowed: true, decision: decision!, event, callId };
}

/** The result of a forwarded call, after it returned (status and size; never the content). */
export async function recordResult(
  deps: CallDeps,
  request: CallRequest,
  callId: string,
  result: { ok: boolean; bytes: number; error?: string },
): Promise<void> {
  await deps.audit.append({
    chain: instanceChain(request.principal.instanceId),
    type: request.action === 'http:request' ? 'http.result' : 'tool.result',
    actor: actorOf(request.principal),
    action: request.action,
    resource: request.label,
    status: result.ok ? 'success' : 'failure',
    denial_reason: result.error ?? null,
    trace_id: request.traceId ?? null,
    cost: request.resource.cost ?? 0,
    data: { resources: [callId], bytes: result.bytes },
  });
}

/** A call refused before the decision path (unknown or quarantined tool, bad arguments): audited all the same. */
export async function recordRefusal(deps: CallDeps, request: Omit<CallRequest, 'card'>, code: string, message: string): Promise<void> {
  await deps.audit.append({
    chain: instanceChain(request.principal.instanceId),
    type: request.action === 'http:request' ? 'http.decision' : 'tool.decision',
    actor: actorOf(request.principal),
    action: request.action,
    resource: request.label,
    decision: 'deny',
    status: 'failure',
    denial_reason: code,
    trace_id: request.traceId ?? null,
    reasons: { message },
  });
}

/** The trace id of a W3C `traceparent` header, or null. */
export function traceIdOf(traceparent: string | undefined): string | null {
  const match = traceparent ? /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(traceparent.trim()) : null;
  return match && !/^0+$/.test(match[1]!) ? match[1]! : null;
}
