import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as dpop from 'dpop';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DpopKeyPair, Ed25519PublicJwk } from '../src/sdk/dpop.ts';
import { signManifest } from '../src/sdk/manifest.ts';
import { jwkThumbprint } from '../src/jose/jwk-thumbprint.ts';
import { TOKEN_EXCHANGE_GRANT, TOKEN_TYPE } from '../src/jose/token-types.ts';
import { verifyPresentedMandate } from '../src/tokens/verify-request.ts';
import { readJson, startTestServer, type TestServer } from './harness.ts';
import { CODE_HASH, decode, joinToken, personToken, register, supportBot } from './fixtures.ts';

/**
 * OAuth clients not written here obtain and use a mandate: panva's oauth4webapi (discovery, token
 * exchange with DPoP, a protected resource call, introspection) and panva's dpop package, with
 * WebCrypto Ed25519 keys. They sign proofs with the fully-specified alg `Ed25519` (RFC 9864).
 */
const insecure = { [oauth.allowInsecureRequests]: true } as const;
type WebCryptoKeyPair = Awaited<ReturnType<typeof oauth.generateKeyPair>>;

/** The instance key as our SDK's manifest signer needs it, from a WebCrypto key pair. */
async function asInstanceKey(pair: WebCryptoKeyPair): Promise<DpopKeyPair> {
  const { x } = await crypto.subtle.exportKey('jwk', pair.publicKey);
  const publicJwk: Ed25519PublicJwk = { kty: 'OKP', crv: 'Ed25519', x: x! };
  return { privateKey: crypto.KeyObject.from(pair.privateKey), publicJwk, jkt: jwkThumbprint(publicJwk) };
}

/** Attest an instance of support-bot whose key is the WebCrypto pair; returns its identity token. */
async function attest(server: TestServer, pair: WebCryptoKeyPair) {
  const manifest = signManifest(
    { agent_id: 'support-bot', join_token: await joinToken(server, 'support-bot'), code_hash: CODE_HASH, environment: 'prod', model: 'gpt-5' },
    await asInstanceKey(pair),
  );
  const res = await fetch(`${server.url}/v1/instances`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ manifest }) });
  expect(res.status).toBe(201);
  return (await readJson(res)) as { identity_token: string; instance_id: string; spiffe_id: string };
}

describe('a mandate obtained and used by third-party OAuth clients', () => {
  let server: TestServer;
  let resourceServer: http.Server;
  let rsUrl: string;
  let github: string;
  let alice: string;

  beforeAll(async () => {
    server = await startTestServer('sqlite');
    github = `${server.url}/mcp/github`;
    await register(server, supportBot);
    alice = await personToken(server, 'alice@example.com');
    // A minimal protected resource: Authorization + DPoP headers straight into verifyPresentedMandate.
    resourceServer = http.createServer((req, res) => {
      const header = (name: string) => (typeof req.headers[name] === 'string' ? (req.headers[name] as string) : undefined);
      verifyPresentedMandate(server.ctx, { authorization: header('authorization'), dpop: header('dpop'), htm: req.method!, htu: `${rsUrl}${req.url}`, resource: github })
        .then((principal) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ delegation: principal.delegation, scope: principal.claims.scope })))
        .catch((error: { code?: string }) => {
          const wire = error.code?.startsWith('ERR_DPOP') ? 'invalid_dpop_proof' : 'invalid_token';
          res.writeHead(401, { 'www-authenticate': `DPoP error="${wire}", algs="Ed25519 EdDSA ES256"`, 'x-mandate-code': error.code ?? '' }).end();
        });
    });
    await new Promise<void>((resolve) => resourceServer.listen(0, '127.0.0.1', resolve));
    rsUrl = `http://127.0.0.1:${(resourceServer.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    if (resourceServer) await new Promise<void>((resolve) => resourceServer.close(() => resolve()));
    await server?.close();
  });

  it('oauth4webapi: discovers the issuer, exchanges with DPoP, calls the resource, introspects', async () => {
    const issuer = new URL(server.ctx.issuer);
    const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
    expect(as.dpop_signing_alg_values_supported).toContain('Ed25519');
    const client: oauth.Client = { client_id: 'support-bot', token_endpoint_auth_method: 'none' };
    const keyPair = await oauth.generateKeyPair('Ed25519');
    const { identity_token, spiffe_id } = await attest(server, keyPair);
    const DPoP = oauth.DPoP(client, keyPair);
    expect(decode(identity_token).cnf.jkt).toBe(await DPoP.calculateThumbprint());

    const parameters = new URLSearchParams({
      subject_token: alice,
      subject_token_type: TOKEN_TYPE.jwt,
      actor_token: identity_token,
      actor_token_type: TOKEN_TYPE.jwt,
      scope: 'tool:github/search_issues',
      resource: github,
    });
    const response = await oauth.genericTokenEndpointRequest(as, client, oauth.None(), TOKEN_EXCHANGE_GRANT, parameters, { DPoP, ...insecure });
    const tokens = await oauth.processGenericTokenEndpointResponse(as, client, response);
    expect(tokens).toMatchObject({ token_type: 'dpop', scope: 'tool:github/search_issues', issued_token_type: TOKEN_TYPE.accessToken });

    const call = await oauth.protectedResourceRequest(tokens.access_token, 'GET', new URL(`${rsUrl}/tools?x=1`), undefined, undefined, { DPoP, ...insecure });
    expect(call.status).toBe(200);
    expect(await call.json()).toEqual({ delegation: ['alice@example.com', spiffe_id], scope: 'tool:github/search_issues' });

    // The same mandate with another client's key is refused, and the library reads our challenge.
    const thief = oauth.DPoP(client, await oauth.generateKeyPair('Ed25519'));
    const stolen = oauth.protectedResourceRequest(tokens.access_token, 'GET', new URL(`${rsUrl}/tools`), undefined, undefined, { DPoP: thief, ...insecure });
    await expect(stolen).rejects.toBeInstanceOf(oauth.WWWAuthenticateChallengeError);
    await stolen.catch((error: oauth.WWWAuthenticateChallengeError) => {
      expect(error.cause[0]).toMatchObject({ scheme: 'dpop', parameters: { error: 'invalid_dpop_proof' } });
      expect(error.response.headers.get('x-mandate-code')).toBe('ERR_DPOP_KEY_MISMATCH');
    });

    // Introspection and revocation authenticate with an admin token (metadata: "bearer").
    expect(as.introspection_endpoint_auth_methods_supported).toEqual(['bearer']);
    const admin: oauth.ClientAuth = (_as, _client, _body, headers) => headers.set('authorization', `Bearer ${server.token}`);
    const introspect = async () => oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, admin, tokens.access_token, insecure));
    expect(await introspect()).toMatchObject({ active: true, client_id: 'support-bot', sub: 'alice@example.com', token_type: 'DPoP' });
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, admin, tokens.access_token, insecure));
    const after = await introspect();
    expect(after).toEqual({ active: false });
  });

  it('panva/dpop: proofs from that library are accepted at the token endpoint and at the resource', async () => {
    const keyPair = await dpop.generateKeyPair('Ed25519');
    const { identity_token } = await attest(server, keyPair);
    const tokenEndpoint = `${server.ctx.issuer}/oauth/token`;
    const exchange = async (proof: string) =>
      fetch(tokenEndpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: proof },
        body: new URLSearchParams({
          grant_type: TOKEN_EXCHANGE_GRANT,
          subject_token: alice,
          subject_token_type: TOKEN_TYPE.jwt,
          actor_token: identity_token,
          actor_token_type: TOKEN_TYPE.jwt,
          scope: 'tool:github/search_issues',
          resource: github,
        }),
      });
    const proof = await dpop.generateProof(keyPair, tokenEndpoint, 'POST');
    const response = await exchange(proof);
    expect(response.status).toBe(200);
    const { access_token } = await readJson(response);
    expect(decode(access_token).cnf.jkt).toBe(await dpop.calculateThumbprint(keyPair.publicKey));
    expect(await readJson(await exchange(proof))).toMatchObject({ error: 'invalid_dpop_proof' });

    const url = `${rsUrl}/tools/search_issues`;
    const call = await fetch(url, { method: 'POST', headers: { authorization: `DPoP ${access_token}`, dpop: await dpop.generateProof(keyPair, url, 'POST', undefined, access_token) } });
    expect(call.status).toBe(200);
    const noAth = await fetch(url, { method: 'POST', headers: { authorization: `DPoP ${access_token}`, dpop: await dpop.generateProof(keyPair, url, 'POST') } });
    expect(noAth.headers.get('x-mandate-code')).toBe('ERR_DPOP_ATH');
  });
});
