// RFC 6750 §3 + RFC 9449 §7.1 — the `WWW-Authenticate: DPoP` challenge of a protected resource
import type { FastifyReply } from 'fastify';
import { isMandateError } from '../errors.ts';
import { toOAuthError } from '../tokens/oauth-errors.ts';
import type { EnforcementContext } from './context.ts';
import type { ResourceKind } from './kinds.ts';
import { metadataUrl } from './protected-resource.ts';
import { sendRefusal } from './refusal.ts';

/**
 * A request without a mandate that stands: 401 (or the catalogue's 403/503) with the challenge
 * naming the resource's metadata (RFC 9728 §5.1) and the algorithms we accept.
 */
export function challenge(ctx: Pick<EnforcementContext, 'issuer' | 'dpopNonces' | 'now'>, reply: FastifyReply, kind: ResourceKind, name: string, error: unknown): FastifyReply {
  const { status, body } = toOAuthError(error, 'resource');
  // RFC 9449 §9: a resource that requires nonces sends the one to use with every challenge.
  if (ctx.dpopNonces) reply.header('dpop-nonce', ctx.dpopNonces.current(ctx.now()));
  const parts = [`error="${body.error}"`, body.error_description ? `error_description="${body.error_description}"` : '', `resource_metadata="${metadataUrl(ctx.issuer, kind, name)}"`, 'algs="EdDSA ES256"'];
  reply.header('www-authenticate', `DPoP ${parts.filter(Boolean).join(', ')}`);
  const shown = isMandateError(error) && error.expose;
  return sendRefusal(reply, kind, status === 400 ? 401 : status, shown ? error.code : 'ERR_TOKEN_INVALID', body.error_description ?? body.error, shown ? {} : { wire: body.error });
}
