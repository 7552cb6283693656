import type { AuditEvent } from '../audit/event.ts';
import type { AuditWriter } from '../audit/writer.ts';
import type { FollowedCache } from '../cluster/followed-cache.ts';
import type { ErrorCode } from '../errors.ts';
import type { Governance } from '../governance/governance.ts';
import type { ApprovalTicket } from '../governance/governed-call.ts';
import type { Authorizer } from '../policy/authorizer.ts';
import type { Decision } from '../policy/decision.ts';
import type { DecisionRequest, ResourceInput } from '../policy/request.ts';
import type { AgentCard } from '../registry/agent-card.ts';
import { getAgent } from '../registry/agents.ts';
import type { Store } from '../store/store.ts';
import type { Traced } from '../telemetry/trace.ts';
import type { Principal } from '../tokens/verify-request.ts';

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
  /**
   * The call's arguments as record constraints and policy (`context.args`) see them: a tool's
   * arguments, a broker request's JSON or form body with its query parameters, an A2A message's
   * metadata. Never written to the trail (`args` is, as HMAC digests).
   */
  callArguments?: Readonly<Record<string, unknown>>;
  /** Why the call carries arguments that cannot be read (a body that is not JSON or a form): refused under record constraints. */
  callArgumentsUnreadable?: string;
  /** Top-level argument fields safe to keep in clear. */
  allowArgs?: readonly string[];
  /** The HTTP method of a broker call, recorded on its audit events (`data.method`). */
  httpMethod?: string;
  /** Outbound host the call reaches (the broker's connection host): a behavior signal. */
  destination?: string;
  traceId?: string | null;
  /** The call's span (tracing on): the steps, the upstream call and the audit commits are its children. */
  trace?: Traced | undefined;
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
      /** The argument that decided (`ERR_RECORD_CONSTRAINT`): its name, never its value. */
      field?: string;
      /** The approval holding this call (`ERR_APPROVAL_REQUIRED`) or that refused it. */
      approval?: ApprovalTicket;
    };

