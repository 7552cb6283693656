import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type ErrorCode, isMandateError } from '../errors.ts';
import type { Principal } from '../tokens/verify-request.ts';
import { auditRefusedHolder, authenticate, type Reached } from './authenticate.ts';
import type { CallDeps } from './call-request.ts';
import { challenge } from './challenge.ts';
import type { EnforcementContext } from './context.ts';
import { audienceOf, type ResourceKind } from './kinds.ts';
import { foreignOrigin } from './origin.ts';
import { metadataRoute } from './protected-resource.ts';
import { sendRefusal } from './refusal.ts';

/**
 * The enforcement-point kit, as an adapter (the MCP gateway, the credential broker) uses it:
 *
 *   const door = frontDoor(app, ctx, mcpTools, { calls, exists, notFound });
 *   if (door.refuseForeignOrigin(request, reply)) return reply;
 *   const principal = await door.admit(request, reply, reached);   // null: the challenge is sent
 *   …  decideCall / decideHeld  …  door.refuse(reply, status, code, message)
 *
 * Registering a door serves the kind's RFC 9728 metadata. What stays in the adapter is only what
 * its protocol owns: sessions and tool pins for MCP, paths, bodies and injection for HTTP APIs.
 */
export interface FrontDoor {
  readonly kind: ResourceKind;
  /** The resource identifier (RFC 8707) of one resource of this kind. */
  audience(name: string): string;
  /** Refuses a request from a foreign browser Origin (403 `ERR_ORIGIN_REFUSED`); true when refused. */
  refuseForeignOrigin(request: FastifyRequest, reply: FastifyReply): boolean;
  /**
   * The verified caller, or null once the request was refused: a `WWW-Authenticate: DPoP`
   * challenge sent, and a refused mandate's holder audited. `governedCall`: the request is one
   * call for the decision path, which records the DPoP proof with the decision; should the
   * request end with the proof unrecorded, it is recorded when the response ends.
   */
  admit(request: FastifyRequest, reply: FastifyReply, reached: Reached, options?: { governedCall?: boolean }): Promise<Principal | null>;
  /**
   * A call the decision path refused because its DPoP proof was spent meanwhile (another replica
   * committed it first): the same `WWW-Authenticate: DPoP` challenge as any replay (RFC 9449 §7.1).
   */
  challenge(reply: FastifyReply, name: string, error: unknown): FastifyReply;
  /** A refusal in the kind's protocol. */
  refuse(reply: FastifyReply, status: number, code: ErrorCode, message: string, extra?: Record<string, unknown>): FastifyReply;
}

export interface DoorHooks {
  /** The decision path's dependencies (its audit trail receives refused holders). */
  calls: () => CallDeps;
  /** Whether a resource of this name exists (its metadata is served only then). */
  exists: (name: string) => Promise<boolean>;
  /** The refusal for a name that does not exist. */
  notFound: (reply: FastifyReply, name: string) => FastifyReply;
}

export function frontDoor(app: FastifyInstance, ctx: EnforcementContext, kind: ResourceKind, hooks: DoorHooks): FrontDoor {
  metadataRoute(app, ctx, kind, hooks.exists, hooks.notFound);
  const refuse: FrontDoor['refuse'] = (reply, status, code, message, extra) => sendRefusal(reply, kind, status, code, message, extra ? { extra } : {});
  return {
    kind,
    audience: (name) => audienceOf(ctx.issuer, kind, name),
    refuseForeignOrigin(request, reply) {
      if (!foreignOrigin(ctx.issuer, request)) return false;
      refuse(reply, 403, 'ERR_ORIGIN_REFUSED', 'foreign Origin refused');
      return true;
    },
    async admit(request, reply, reached, options) {
      try {
        const principal = await authenticate(ctx, kind, request, reached, options?.governedCall === true);
        const proof = principal.proof;
        if (proof) {
          reply.raw.once('close', () => {
            if (!proof.recorded) proof.record().catch((e: Error) => ctx.logger.warn({ kind: kind.kind, resource: reached.name, err: e.message }, 'a DPoP proof could not be recorded'));
          });
        }
        return principal;
      } catch (error) {
        await auditRefusedHolder(ctx, hooks.calls(), kind, request, reached, error);
        const agent = request.headers['user-agent'];
        ctx.refusedClients?.note({ address: request.ip, userAgent: typeof agent === 'string' ? agent : undefined, kind: kind.kind, resource: reached.name, code: isMandateError(error) ? error.code : 'unknown' });
        challenge(ctx, reply, kind, reached.name, error);
        return null;
      }
    },
    challenge: (reply, name, error) => challenge(ctx, reply, kind, name, error),
    refuse,
  };
}
