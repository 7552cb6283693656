import type { AuditEvent } from '../audit/event.ts';
import type { digestArguments } from '../audit/redact.ts';
import type { Refusal } from '../governance/governed-call.ts';
import type { CallGovernor } from '../governance/governor.ts';
import type { Decision } from '../policy/decision.ts';
import type { Traced } from '../telemetry/trace.ts';
import type { CallDeps, CallRequest } from './call-request.ts';

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
  /** What the records step found (RFC 9396 record constraints), for the trail. */
  recordNote?: string | undefined;
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
  /** The span of the step running now (tracing on). */
  step?: Traced | undefined;
}

/** A named step: it passes the call on (null) or refuses it with a catalogued code. */
export interface Step {
  name: string;
  run: (call: CallContext) => Promise<Refusal | null>;
  /** Runs for refused calls too (the trail and what follows it); every other step stops at a refusal. */
  recordsRefusals?: true;
}

