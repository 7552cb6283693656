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
import type { ApprovalTicket, Refusal } from '../governance/governed-call.ts';
import type { CallGovernor } from '../governance/governor.ts';
import { permits } from '../tokens/scope.ts';
import type { Principal } from '../tokens/verify-request.ts';
import { decisionRequest } from './decision-request.ts';
import { auditFamilyOf } from './kinds.ts';

/**
 * The one decision path every enforcement point (MCP gateway, credential broker) runs for a call.
 * Each step passes the call on or refuses it with a stable code; steps marked * run only with
 * governance (issue 8), and without it the path is exactly scope → policy → audit.
 *   1.* rate limits (instance, agent, person)        5.  policy: Cedar decides with the full context
 *   2.  scope: the mandate covers this exact call    6.* approval: a person lifts what policy or an
 *   3.* budget standing                                   `approve` response holds, else the call is held
 *   4.* behavior: baseline + anomaly rules (risk;    7.* commit: consume the approval, debit the budget
 *       a `suspend` response revokes the instance)   8.  audit: durable before anything is forwarded
 *                                                    9.* settle: approval events, baseline, spent mandates end
 * A denial carries a stable code and the message for the agent; a failed audit append denies.
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

const actorOf = (p: Principal) => ({ instance: p.instanceId, agent: p.agentId, person: p.person, delegation: p.delegation });

export async function decideCall(deps: CallDeps, request: CallRequest): Promise<CallOutcome> {
  const { principal } = request;
  const callId = crypto.randomUUID();
  const now = deps.now();
  const traceId = request.traceId ?? null;
  let digest: ReturnType<typeof digestArguments> | undefined;
  try {
    digest = request.args ? digestArguments(request.args, { key: deps.auditKey, allow: request.allowArgs ?? [] }) : undefined;
  } catch (error) {
    // Arguments that cannot be canonicalized (too deep, a lone surrogate) cannot be digested, so
    // nothing could be decided about them: the call is refused, and audited like any refusal.
    if (!isMandateError(error)) throw error;
    const event = await recordRefusal(deps, { ...request, traceId }, error.code, `the arguments cannot be read: ${error.message}`).catch(() => null);
    if (!event) return { allowed: false, code: 'ERR_AUDIT_UNAVAILABLE', message: 'the call could not be recorded, so it is refused', decision: null, approvalRequired: false, event: null };
    return { allowed: false, code: error.code, message: `the arguments cannot be read: ${error.message}`, status: 400, decision: null, approvalRequired: false, event };
  }
  const base = {
    chain: instanceChain(principal.instanceId),
    type: `${auditFamilyOf(request.action)}.decision` as const,
    actor: actorOf(principal),
    action: request.action,
    resource: request.label,
    trace_id: traceId,
    cost: request.resource.cost ?? 0,
    ...(digest ? { args_digest: digest.args_digest, args: digest.args } : {}),
  };
  const governor = deps.governance?.govern(
    { ...request, traceId, callId, argsDigest: digest?.args_digest ?? null },
    deps.audit,
    now,
  );

  const { decision, refusal, scopeNote, risk } = await judge(deps, request, governor, { now, traceId });

  const code = refusal?.code ?? null;
  const message = refusal?.message ?? '';
  const notes = governor?.notes() ?? {};
  let event: AuditEvent;
  try {
    event = await deps.audit.append({
      ...base,
      decision: code ? 'deny' : 'allow',
      status: code ? 'failure' : 'success',
      denial_reason: code,
      policy_version: decision?.version ?? null,
      reasons: {
        ...(scopeNote ? { scope: scopeNote } : {}),
        ...(decision ? { policies: [...decision.policies, ...decision.liftedByApproval] } : {}),
        ...(message ? { message } : {}),
        ...notes,
        ...(risk ? { risk } : {}),
      },
      data: { resources: [callId], ...methodOf(request) },
    });
  } catch {
    await governor?.rollback().catch(() => {});
    // DESIGN §5: nothing is forwarded unaudited.
    return { allowed: false, code: 'ERR_AUDIT_UNAVAILABLE', message: 'the call could not be recorded, so it is refused', decision, approvalRequired: false, event: null };
  }
  // Settling changes no decision: a failure is logged by governance, never turned into a refusal.
  await governor?.settle(!code);
  if (refusal) {
    return {
      allowed: false,
      code: refusal.code,
      message,
      decision,
      approvalRequired: refusal.code === 'ERR_APPROVAL_REQUIRED',
      event,
      ...(refusal.retryAfter !== undefined ? { retryAfter: refusal.retryAfter } : {}),
      ...(refusal.approval ? { approval: refusal.approval } : {}),
    };
  }
  const budget = governor?.budget;
  const approvalId = governor?.approvalUsed;
  return { allowed: true, decision: decision!, event, callId, ...(budget ? { budget } : {}), ...(approvalId ? { approvalId } : {}) };
}

interface Judgement {
  decision: Decision | null;
  refusal: Refusal | null;
  scopeNote: string | undefined;
  risk: number;
}

/** Steps 1 to 7: each passes the call on or refuses it. */
async function judge(deps: CallDeps, request: CallRequest, governor: CallGovernor | undefined, at: { now: Date; traceId: string | null }): Promise<Judgement> {
  const { principal } = request;
  const verdict: Judgement = { decision: null, refusal: null, scopeNote: undefined, risk: request.risk ?? 0 };
  try {
    verdict.refusal = (await governor?.admit()) ?? null;
    if (verdict.refusal) return verdict;
    if (!permits(principal.scope, request.scopeItem)) {
      verdict.scopeNote = `${request.scopeItem} not covered`;
      verdict.refusal = { code: 'ERR_SCOPE_NOT_GRANTED', message: `the mandate does not cover ${request.scopeItem}` };
      return verdict;
    }
    verdict.scopeNote = `${request.scopeItem} covered`;
    const signals = governor ? await governor.assess() : null;
    verdict.risk = Math.min(100, verdict.risk + (governor?.risk ?? 0));
    if (signals && 'code' in signals) {
      verdict.refusal = signals;
      return verdict;
    }
    const decide = (approval: NonNullable<CallRequest['approval']>) =>
      deps.authorizer.decide(
        decisionRequest({
          principal,
          card: request.card,
          action: request.action,
          resource: request.resource,
          budgetRemaining: signals ? Math.min(signals.budgetRemaining, request.budgetRemaining ?? Infinity) : (request.budgetRemaining ?? principal.claims.budget),
          risk: verdict.risk,
          approval,
          traceId: at.traceId,
          now: at.now,
        }),
      );
    // With governance, only governance says whether a person approved the call.
    let decision = decide(governor ? 'none' : (request.approval ?? 'none'));
    if (governor) ({ decision, refusal: verdict.refusal } = await governor.resolve(decision, decide));
    verdict.decision = decision;
    if (!verdict.refusal && decision.decision === 'deny') {
      verdict.refusal = {
        code: decision.obligations.approval === 'required' ? 'ERR_APPROVAL_REQUIRED' : 'ERR_POLICY_DENIED',
        message: decision.obligations.reasons[0] ?? 'denied by policy',
      };
    }
    if (!verdict.refusal && governor) verdict.refusal = await governor.commit();
    return verdict;
  } catch (error) {
    if (!governor) throw error;
    // DESIGN §5: a governance step that cannot run (store down) refuses the call.
    await governor.rollback().catch(() => {});
    return { ...verdict, refusal: { code: 'ERR_GOVERNANCE_UNAVAILABLE', message: 'budget, rate and behavior checks could not run, so the call is refused' } };
  }
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
    type: `${auditFamilyOf(request.action)}.result`,
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

/** `data.method` for a broker call whose method is an HTTP token (anything else is left out). */
const methodOf = (request: Pick<CallRequest, 'httpMethod'>): { method?: string } =>
  request.httpMethod && /^[A-Z]{1,20}$/.test(request.httpMethod) ? { method: request.httpMethod } : {};

/** The trace id of a W3C `traceparent` header, or null. */
export function traceIdOf(traceparent: string | undefined): string | null {
  const match = traceparent ? /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(traceparent.trim()) : null;
  return match && !/^0+$/.test(match[1]!) ? match[1]! : null;
}
