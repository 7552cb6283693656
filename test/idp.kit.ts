import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

/**
 * A real identity provider on loopback for persons' tokens: an OIDC discovery document and a
 * JWKS served over HTTP, keys it can rotate, a switch that takes it down, and a count of the
 * requests it answered (so tests see when Mandate fetched).
 */
export interface TestIdp {
  issuer: string;
  jwksUri: string;
  hits: { discovery: number; jwks: number };
  /** When set, every request is answered 503. */
  down: boolean;
  /** Publish a new key (and keep the old ones unless `only`). Returns its kid. */
  addKey(alg: 'RS256' | 'ES256' | 'EdDSA', options?: { only?: boolean; publish?: boolean }): Promise<string>;
  /** A person token signed with the key named by kid. */
  sign(claims: Record<string, unknown>, kid: string, header?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

export async function startIdp(options: { issuerOverride?: string } = {}): Promise<TestIdp> {
  const keys = new Map<string, { alg: string; privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey']; jwk: JWK; published: boolean }>();
  const idp: TestIdp = {
    issuer: '',
    jwksUri: '',
    hits: { discovery: 0, jwks: 0 },
    down: false,
    async addKey(alg, { only = false, publish = true } = {}) {
      const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
      const kid = `${alg.toLowerCase()}-${keys.size + 1}`;
      if (only) for (const k of keys.values()) k.published = false;
      keys.set(kid, { alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }, published: publish });
      return kid;
    },
    async sign(claims, kid, header = {}) {
      const key = keys.get(kid)!;
      return new SignJWT(claims).setProtectedHeader({ alg: key.alg, typ: 'JWT', kid, ...header }).sign(key.privateKey);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server = http.createServer((req, res) => {
    if (idp.down) return void res.writeHead(503).end();
    const json = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.url === '/.well-known/openid-configuration') {
      idp.hits.discovery++;
      return json({ issuer: options.issuerOverride ?? idp.issuer, jwks_uri: idp.jwksUri, id_token_signing_alg_values_supported: ['RS256', 'ES256', 'EdDSA'] });
    }
    if (req.url === '/keys') {
      idp.hits.jwks++;
      return json({ keys: [...keys.values()].filter((k) => k.published).map((k) => k.jwk) });
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  idp.issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  idp.jwksUri = `${idp.issuer}/keys`;
  return idp;
}
