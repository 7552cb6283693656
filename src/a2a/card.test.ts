import { describe, expect, it } from 'vitest';
import { publishedCard } from './card.ts';
import { parsePeerSpec } from './peer-spec.ts';

const at = { issuer: 'https://mandate.example', resource: 'https://mandate.example/a2a/billing' };

describe('a peer’s agent card, as Mandate publishes it', () => {
  it('keeps a v1.0 card v1.0: Mandate the only endpoint (per JSON-RPC version) and the only security scheme', () => {
    const spec = parsePeerSpec({
      name: 'billing',
      url: 'https://billing.internal/rpc',
      agent: 'billing-agent',
      card: {
        name: 'Billing',
        skills: [{ id: 'invoices' }],
        supportedInterfaces: [
          { url: 'https://billing.internal/rpc', protocolBinding: 'JSONRPC', protocolVersion: '1.0' },
          { url: 'https://billing.internal/v03', protocolBinding: 'JSONRPC', protocolVersion: '0.3' },
          { url: 'https://billing.internal/rest', protocolBinding: 'HTTP+JSON', protocolVersion: '1.0' },
        ],
        securitySchemes: { own: { apiKeySecurityScheme: { name: 'x-key' } } },
        securityRequirements: [{ schemes: { own: { list: [] } } }],
        signatures: [{ protected: 'x', signature: 'y' }],
      },
    });
    const card = publishedCard(spec, at);
    expect(card.supportedInterfaces).toEqual([
      { url: at.resource, protocolBinding: 'JSONRPC', protocolVersion: '1.0' },
      { url: at.resource, protocolBinding: 'JSONRPC', protocolVersion: '0.3' },
    ]);
    expect(card.securitySchemes).toEqual({
      mandate: {
        oauth2SecurityScheme: {
          description: expect.stringContaining('RFC 9449'),
          oauth2MetadataUrl: 'https://mandate.example/.well-known/oauth-authorization-server',
          flows: { clientCredentials: { tokenUrl: 'https://mandate.example/oauth/token', scopes: { 'a2a:billing/*': 'every A2A method of billing' } } },
        },
      },
    });
    expect(card.securityRequirements).toEqual([{ schemes: { mandate: { list: ['a2a:billing/*'] } } }]);
    expect(card.skills).toEqual([{ id: 'invoices' }]);
    expect(JSON.stringify(card)).not.toMatch(/billing\.internal|signature|x-key/);
  });

  it('writes a v0.3 card as v0.3 (url, security)', () => {
    const spec = parsePeerSpec({
      name: 'billing',
      url: 'https://billing.internal/rpc',
      agent: 'billing-agent',
      card: { name: 'Billing', url: 'https://billing.internal/rpc', additionalInterfaces: [{ url: 'https://billing.internal/grpc', transport: 'GRPC' }], security: [{ own: [] }] },
    });
    const card = publishedCard(spec, at);
    expect(card).toMatchObject({ url: at.resource, preferredTransport: 'JSONRPC', security: [{ mandate: ['a2a:billing/*'] }], securitySchemes: { mandate: { type: 'oauth2' } } });
    expect(JSON.stringify(card)).not.toContain('billing.internal');
  });

  it('refuses a peer spec that is not one', () => {
    expect(() => parsePeerSpec({ name: 'b', url: 'ftp://x', agent: 'a', card: { name: 'x' } })).toThrow(/url/);
    expect(() => parsePeerSpec({ name: 'b', url: 'https://x', agent: 'a', card: {} })).toThrow(/card/);
    expect(() => parsePeerSpec({ name: 'b', url: 'https://x', agent: 'a', card: { name: 'x' }, methods: { 'tasks/list': {} } })).toThrow();
    expect(() => parsePeerSpec({ name: 'b/c', url: 'https://x', agent: 'a', card: { name: 'x' } })).toThrow(/name/);
  });
});
