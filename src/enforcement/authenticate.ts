// RFC 9449 §7 + RFC 8707 — the mandate and DPoP proof a request presents, at one resource
import type { FastifyRequest } from 'fastify';
import { isMandateError } from '../errors.ts';
import type { ResourceInput } from '../policy/request.ts';
import { type Principal, refusedHolder, verifyPresentedMandate } from '../tokens/verify-request.ts';
import type { CallDeps } from './call-request.ts';
import { recordRefusal, traceIdOf } from './trail.ts';
import type { EnforcementContext } from './context.ts';
import { audienceOf, type ResourceKind, wholeAudienceOf } from './kinds.ts';

/** The resource a request reaches, as the kit authenticates and audits it. */
export interface Reached {
  /** The server or connection name. */
  name: string;
  /** What follows the resource identifier in the DPoP `htu` (RFC 9449 §4.3: no query, no fragment). */
  htuPath?: string;
  /** What the trail names when a refused mandate's holder is audited. */
  label: string;
  resource: ResourceInput;
}

/** The W3C trace id a request carries, or null. */
export const traceOf = (request: FastifyRequest) => traceIdOf(typeof request.headers.traceparent === 'string' ? request.headers.traceparent : undefined);

/**
 * `Authorization: DPoP <mandate>` plus its proof, for this resource; a mandate for the whole
 * enforcement point (`<issuer>/<segment>`) is accepted at every resource of it.
 */
export async function authenticate(ctx: EnforcementContext, kind: ResourceKind, request: FastifyRequest, reached: Pick<Reached, 'name' | 'htuPath'>, deferProof = false): Promise<Principal> {
  const resource = audienceOf(ctx.issuer, kind, reached.name);
  const presented = {
    deferProof,
    authorization: request.headers.authorization,
    dpop: typeof request.headers.dpop === 'string' ? request.headers.dpop : undefined,
    htm: request.method,
    htu: `${resource}${reached.htuPath ?? ''}`,
  };
  try {
    return await verifyPresentedMandate(ctx, { ...presented, resource });
  } catch (error) {
    if (isMandateError(error) && error.code === 'ERR_TOKEN_AUDIENCE') return verifyPresentedMandate(ctx, { ...presented, resource: wholeAudienceOf(ctx.issuer, kind) });
    throw error;
  }
}

/**
 * A revoked or expired mandate presented by its holder: refused and audited on the holder's chain
 * like any call. A trail that cannot take it is logged; the refusal stands either way.
 */
export async function auditRefusedHolder(ctx: EnforcementContext, calls: CallDeps, kind: ResourceKind, request: FastifyRequest, reached: Reached, error: unknown): Promise<void> {
  const holder = refusedHolder(error);
  if (!holder || !isMandateError(error)) return;
  await recordRefusal(calls, { principal: holder, action: kind.action, scopeItem: '', resource: reached.resource, label: reached.label, traceId: traceOf(request) }, error.code, error.message).catch((e: Error) =>
    ctx.logger.warn({ kind: kind.kind, resource: reached.name, err: e.message }, 'a refused mandate could not be audited'),
  );
}
