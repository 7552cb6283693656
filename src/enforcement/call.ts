import crypto from 'node:crypto';
import type { ErrorCode } from '../errors.ts';
import type { AuditEvent } from '../audit/event.ts';
import { digestArguments } from '../audit/redact.ts';
import { type AuditWriter, instanceChain } from '../audit/writer.ts';
import type { Authorizer } from '../policy/authorizer.ts';
import type { Decision } from '../policy/decision.ts';
import type { DecisionRequest, ResourceInput } from '../policy/request.ts';
import type { FollowedCache } from '../cluster/followed-cache.ts';
import type { AgentCard } from '../registry/agent-card.ts';
import { getAgent } from '../registry/agents.ts';
import type { Store } from '../store/store.ts';
import { isMandateError } from '../errors.ts';
import type { Governance } from '../governance/governance.ts';
import type { ApprovalTicket } from '../governance/governed-call.ts';
import type { Principal } from '../tokens/verify-request.ts';
import { actorOf, methodOf } from './audit-fields.ts';
import { auditFamilyOf } from './kinds.ts';
import { runDecisionPath } from './pipeline.ts';

/**
 * What every enforcement point (MCP gateway, credential broker) asks of the decision path: a call
 * goes down `DECISION_PATH` (src/enforcement/pipeline.ts) and comes back allowed, with its
 * durable decision event, or refused with a stable code and the message for the agent.
 */
export interface CallDeps {
  authorizer: Authorizer;
  audit: AuditWriter;
  /** HMAC key for argument digests (never the clear arguments in the trail). */
  auditKey: Uint8Array;
  now: () => Date;
  /** Budgets, rate limits, behavior and approvals; absent, none of them apply. */
  governance?: Governance | undefined;
  /** Agent cards kept current by the change feed; absent, each call reads the registry. */
  cards?: FollowedCache<AgentCard> | undefined;
}

/** The card of the agent making a call. */
export function cardOf(deps: Pick<CallDeps, 'cards'> & { store: Store }, agentId: string): Promise<AgentCard> {
  const read = () => getAgent(deps.store.db, agentId);
  return deps.cards ? deps.cards.get(agentId, read) : read();
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
  /** The HTTP method of a broker call, recorded on its audit events (`data.method`). */
  httpMethod?: string;
  /** Outbound host the call reaches (the broker's connection host): a behavior signal. */
  destination?: string;
  traceId?: string | null;
  /** Without governance, what the policy sees; with it, governance's own figures prevail. */
  budgetRemaining?: number | null;
  risk?: number;
  approval?: 'none' | 'pending' | 'granted' | 'denied';
}

export type CallOutcome =
  | {
      allowed: true;
      decision: Decision;
      event: AuditEvent;
      callId: string;
      /** The budget after this call's debit (with governance). */
      budget?: { limit: number; spent: number; remaining: number };
      /** The approval this call consumed. */
      approvalId?: string;
    }
  | {
      allowed: false;
      code: ErrorCode;
      message: string;
      decision: Decision | null;
      approvalRequired: boolean;
      event: AuditEvent | null;
      /** The HTTP status when it is not the usual 403 (a call whose arguments cannot be read: 400). */
      status?: number;
      /** Seconds after which the same call may succeed (`ERR_RATE_LIMITED`). */
      retryAfter?: number;
      /** The approval holding this call (`ERR_APPROVAL_REQUIRED`) or that refused it. */
      approval?: ApprovalTicket;
    };

/**
 * Decides one call. Before the path: arguments that cannot be digested (too deep, a lone
 * surrogate) cannot be decided about, so the call is refused (400) and audited like any refusal.
 */
export async function decideCall(deps: CallDeps, request: CallRequest): Promise<CallOutcome> {
  const callId = crypto.randomUUID();
  const now = deps.now();
  const traceId = request.traceId ?? null;
  let digest: ReturnType<typeof digestArguments> | undefined;
  try {
    digest = request.args ? digestArguments(request.args, { key: deps.auditKey, allow: request.allowArgs ?? [] }) : undefined;
  } catch (error) {
    if (!isMandateError(error)) throw error;
    const event = await recordRefusal(deps, { ...request, traceId }, error.code, `the arguments cannot be read: ${error.message}`).catch(() => null);
    if (!event) return { allowed: false, code: 'ERR_AUDIT_UNAVAILABLE', message: 'the call could not be recorded, so it is refused', decision: null, approvalRequired: false, event: null };
    return { allowed: false, code: error.code, message: `the arguments cannot be read: ${error.message}`, status: 400, decision: null, approvalRequired: false, event };
  }
  const call = await runDecisionPath({
    deps,
    request,
    governor: deps.governance?.govern({ ...request, traceId, callId, argsDigest: digest?.args_digest ?? null }, deps.audit, now),
    callId,
    now,
    traceId,
    digest,
    scopeNote: undefined,
    risk: request.risk ?? 0,
    budgetRemaining: null,
    asked: null,
    decision: null,
    refusal: null,
    event: null,
  });
  const { refusal, decision, event, governor } = call;
  if (refusal) {
    return {
      allowed: false,
      code: refusal.code,
      message: refusal.message,
      decision,
      approvalRequired: refusal.code === 'ERR_APPROVAL_REQUIRED',
      event,
      ...(refusal.retryAfter !== undefined ? { retryAfter: refusal.retryAfter } : {}),
      ...(refusal.approval ? { approval: refusal.approval } : {}),
    };
  }
  const budget = governor?.budget;
  const approvalId = governor?.approvalUsed;
  return { allowed: true, decision: decision!, event: event!, callId, ...(budget ? { budget } : {}), ...(approvalId ? { approvalId } : {}) };
}

/** The result of a forwarded call, after it returned (status and size; never the content); `resources`: what it touched (tables). */
export async function recordResult(
  deps: CallDeps,
  request: CallRequest,
  callId: string,
  result: { ok: boolean; bytes: number; error?: ErrorCode; upstreamStatus?: number; resources?: readonly string[] },
): Promise<void> {
  await deps.audit.append({
    chain: instanceChain(request.principal.instanceId),
    type: `${auditFamilyOf(request.action)}.result` as const,
    actor: actorOf(request.principal),
    action: request.action,
    resource: request.label,
    status: result.ok ? 'success' : 'failure',
    denial_reason: result.error ?? null,
    trace_id: request.traceId ?? null,
    cost: request.resource.cost ?? 0,
    data: { resources: [callId, ...(result.resources ?? [])], bytes: result.bytes, ...methodOf(request), ...(result.upstreamStatus === undefined ? {} : { upstream_status: result.upstreamStatus }) },
  });
}

/**
 * A call refused before the decision path (unknown or quarantined tool, bad arguments, a mandate
 * that no longer stands, a request the gateway cannot read): audited all the same. `action` may
 * name any MCP method (`prompts/get`), not only the ones policy decides.
 */
export async function recordRefusal(deps: CallDeps, request: Omit<CallRequest, 'card' | 'action'> & { action: string }, code: ErrorCode, message: string): Promise<AuditEvent> {
  return deps.audit.append({
    chain: instanceChain(request.principal.instanceId),
    type: `${auditFamilyOf(request.action)}.decision`,
    actor: actorOf(request.principal),
    action: request.action,
    resource: request.label,
    decision: 'deny',
    status: 'failure',
    denial_reason: code,
    trace_id: request.traceId ?? null,
    reasons: { message },
    ...(methodOf(request).method ? { data: methodOf(request) } : {}),
  });
}

/** The trace id of a W3C `traceparent` header, or null. */
export function traceIdOf(traceparent: string | undefined): string | null {
  const match = traceparent ? /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(traceparent.trim()) : null;
  return match && !/^0+$/.test(match[1]!) ? match[1]! : null;
}
