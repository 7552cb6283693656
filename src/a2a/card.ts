// A2A v1.0 §4.4 (AgentCard, SecuritySchemes) and v0.3 §5.5 — a peer's agent card, published through Mandate
import type { PeerSpec } from './peer-spec.ts';

/**
 * The card a caller fetches at `/a2a/<peer>/.well-known/agent-card.json`: the peer's own card,
 * with Mandate as its only endpoint (JSON-RPC) and its only security scheme (OAuth 2.0 with
 * Mandate as the authorization server: a DPoP-bound mandate, RFC 9449, obtained by token exchange,
 * RFC 8693, for this peer's resource identifier, RFC 8707). The peer's own schemes and endpoints
 * are withheld (a caller never reaches the peer but through Mandate), and so are its signatures,
 * which no longer hold over the rewritten card. A v1.0 card (`supportedInterfaces`) stays v1.0;
 * anything else is written as v0.3 (`url`, `security`).
 */
export function publishedCard(spec: PeerSpec, at: { issuer: string; resource: string }): Record<string, unknown> {
  const { securitySchemes: _schemes, security: _security, securityRequirements: _requirements, signatures: _signatures, ...card } = spec.card;
  const tokenUrl = `${at.issuer}/oauth/token`;
  const scopes = { [`a2a:${spec.name}/*`]: `every A2A method of ${spec.name}` };
  const description =
    `A DPoP-bound mandate (RFC 9449) from Mandate: token exchange (RFC 8693) at ${tokenUrl} with resource=${at.resource} ` +
    `(RFC 8707) and scope a2a:${spec.name}/<method>; present it as "Authorization: DPoP <mandate>" with a DPoP proof.`;
  const oauth2MetadataUrl = `${at.issuer}/.well-known/oauth-authorization-server`;
  if (Array.isArray(spec.card.supportedInterfaces)) {
    // Every protocol version the peer speaks over JSON-RPC, each now at Mandate (other bindings are not fronted).
    const versions = (spec.card.supportedInterfaces as unknown[])
      .filter((i): i is Record<string, unknown> => typeof i === 'object' && i !== null && (i as Record<string, unknown>).protocolBinding === 'JSONRPC')
      .map((i) => (typeof i.protocolVersion === 'string' ? i.protocolVersion.slice(0, 16) : '1.0'));
    return {
      ...card,
      supportedInterfaces: [...new Set(versions.length > 0 ? versions : ['1.0'])].map((protocolVersion) => ({ url: at.resource, protocolBinding: 'JSONRPC', protocolVersion })),
      securitySchemes: { mandate: { oauth2SecurityScheme: { description, oauth2MetadataUrl, flows: { clientCredentials: { tokenUrl, scopes } } } } },
      securityRequirements: [{ schemes: { mandate: { list: Object.keys(scopes) } } }],
    };
  }
  const { additionalInterfaces: _interfaces, ...legacy } = card;
  return {
    ...legacy,
    url: at.resource,
    preferredTransport: 'JSONRPC',
    securitySchemes: { mandate: { type: 'oauth2', description, oauth2MetadataUrl, flows: { clientCredentials: { tokenUrl, scopes } } } },
    security: [{ mandate: Object.keys(scopes) }],
  };
}
