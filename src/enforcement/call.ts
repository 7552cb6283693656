import crypto from 'node:crypto';
import { digestArguments } from '../audit/redact.ts';
import { isMandateError } from '../errors.ts';
import { decisions } from '../telemetry/metrics.ts';
import type { CallDeps, CallOutcome, CallRequest } from './call-request.ts';
import { pointOf } from './kinds.ts';
import { runDecisionPath } from './pipeline.ts';
import { recordRefusal } from './trail.ts';

export type { CallDeps, CallOutcome, CallRequest } from './call-request.ts';

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
    request.trace?.span.setAttribute('mandate.code', refusal.code);
    decisions.inc([pointOf(request.action), 'deny', refusal.code]);
    return {
      allowed: false,
      code: refusal.code,
      message: refusal.message,
      decision,
      approvalRequired: refusal.code === 'ERR_APPROVAL_REQUIRED',
      event,
      ...(refusal.retryAfter !== undefined ? { retryAfter: refusal.retryAfter } : {}),
      ...(refusal.field !== undefined ? { field: refusal.field } : {}),
      ...(refusal.approval ? { approval: refusal.approval } : {}),
    };
  }
  decisions.inc([pointOf(request.action), 'allow', '']);
  const budget = governor?.budget;
  const approvalId = governor?.approvalUsed;
  return { allowed: true, decision: decision!, event: event!, callId, ...(budget ? { budget } : {}), ...(approvalId ? { approvalId } : {}) };
}
