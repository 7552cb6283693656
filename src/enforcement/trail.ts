import type { AuditEvent } from '../audit/event.ts';
import { instanceChain } from '../audit/writer.ts';
import type { ErrorCode } from '../errors.ts';
import { decisions } from '../telemetry/metrics.ts';
import { inSpan } from '../telemetry/trace.ts';
import type { Principal } from '../tokens/verify-request.ts';
import type { CallDeps, CallRequest } from './call-request.ts';
import { auditFamilyOf, pointOf } from './kinds.ts';

// What enforcement points put in the trail besides the decision itself (the `audit` step).

/** Who acted, as every decision and result event names it: instance, agent, person, chain. */
export const actorOf = (p: Principal) => ({ instance: p.instanceId, agent: p.agentId, person: p.person, delegation: p.delegation });

/** `data.method` for a broker call whose method is an HTTP token (anything else is left out). */
export const methodOf = (request: { httpMethod?: string | undefined }): { method?: string } =>
  request.httpMethod && /^[A-Z]{1,20}$/.test(request.httpMethod) ? { method: request.httpMethod } : {};

/** The result of a forwarded call, after it returned (status and size; never the content); `resources`: what it touched (tables). */
export async function recordResult(
  deps: CallDeps,
  request: CallRequest,
  callId: string,
  result: { ok: boolean; bytes: number; error?: ErrorCode; upstreamStatus?: number; resources?: readonly string[] },
): Promise<void> {
  await inSpan(request.trace, 'audit commit', () => deps.audit.append({
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
  }));
}

/**
 * A call refused before the decision path (unknown or quarantined tool, bad arguments, a mandate
 * that no longer stands, a request the gateway cannot read): audited all the same. `action` may
 * name any MCP method (`prompts/get`), not only the ones policy decides.
 */
export async function recordRefusal(deps: CallDeps, request: Omit<CallRequest, 'card' | 'action'> & { action: string }, code: ErrorCode, message: string): Promise<AuditEvent> {
  request.trace?.span.setAttribute('mandate.code', code);
  decisions.inc([pointOf(request.action), 'deny', code]);
  // The proof is spent all the same (RFC 9449 §11.1): its replay is refused as a replay.
  await request.principal.proof?.record();
  return inSpan(request.trace, 'audit commit', () => deps.audit.append({
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
  }));
}

/** The trace id of a W3C `traceparent` header, or null. */
export function traceIdOf(traceparent: string | undefined): string | null {
  const match = traceparent ? /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(traceparent.trim()) : null;
  return match && !/^0+$/.test(match[1]!) ? match[1]! : null;
}
