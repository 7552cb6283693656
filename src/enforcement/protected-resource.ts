// RFC 9728 — OAuth 2.0 Protected Resource Metadata, for every enforcement point
import type { FastifyInstance, FastifyReply } from 'fastify';
import { audienceOf, type ResourceKind } from './kinds.ts';

/** `/.well-known/oauth-protected-resource/<segment>/<name>` (RFC 9728 §3.1), as a route and as a URL. */
export const metadataPath = (kind: ResourceKind, name: string) => `/.well-known/oauth-protected-resource/${kind.segment}/${name}`;
export const metadataUrl = (issuer: string, kind: ResourceKind, name: string) => `${issuer}${metadataPath(kind, name)}`;

/** RFC 9728 §2: the resource, Mandate as its authorization server, DPoP-bound mandates only (RFC 9449 §5.2). */
export function protectedResourceMetadata(issuer: string, kind: ResourceKind, name: string) {
  return {
    resource: audienceOf(issuer, kind, name),
    authorization_servers: [issuer],
    bearer_methods_supported: ['header'],
    dpop_signing_alg_values_supported: ['EdDSA', 'ES256'],
    dpop_bound_access_tokens_required: true,
    scopes_supported: kind.scopesOf(name),
  };
}

/**
 * Serves the metadata of every resource of a kind that `exists`; anything else gets `notFound`.
 * The issuer is read per request: a server listening on port 0 learns its own only once bound.
 */
export function metadataRoute(
  app: FastifyInstance,
  at: { readonly issuer: string },
  kind: ResourceKind,
  exists: (name: string) => Promise<boolean>,
  notFound: (reply: FastifyReply, name: string) => FastifyReply,
): void {
  app.get<{ Params: { name: string } }>(metadataPath(kind, ':name'), async (request, reply) => {
    const { name } = request.params;
    if (!(await exists(name))) return notFound(reply, name);
    return protectedResourceMetadata(at.issuer, kind, name);
  });
}
