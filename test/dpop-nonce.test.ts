import { KeyObject } from 'node:crypto';
import * as dpop from 'dpop';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/schema.ts';
import { createDpopProof } from '../src/sdk/dpop.ts';
import { AgentRuntime } from '../src/sdk/runtime.ts';
import { jwkThumbprint } from '../src/jose/jwk-thumbprint.ts';
import { TOKEN_EXCHANGE_GRANT, TOKEN_TYPE } from '../src/jose/token-types.ts';
import { startUpstream } from './broker.peers.ts';
import { CODE_HASH, bootstrap, joinToken, personToken, register } from './fixtures.ts';
import { readJson, startTestServer, type TestServer } from './harness.ts';
import { exchangeForm, tokenRequest } from './mandates.kit.ts';

/**
 * Server-provided DPoP nonces (RFC 9449 §8 at the token endpoint, §9 at the enforcement points),
 * switched on with MANDATE_DPOP_NONCE, with clients not written here (panva's dpop and
 * oauth4webapi) that retry on `use_dpop_nonce`, and with Mandate's SDK, which retries once.
 */
const insecure = { [oauth.allowInsecureRequests]: true } as const;
const nonceBot = {
  id: 'nonce-bot',
  name: 'Nonce bot',
  owner: 'alice@example.com',
  environment: 'dev',
  roles: ['operator'],
  code_hashes: [CODE_HASH],
  toolset: ['http:echo:*:/**', 'tool:tools/*'],
};
const SCOPE = 'http:echo:GET:/**';

describe('server-provided DPoP nonces', () => {
  let shift = 0;
  let server: TestServer;
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let broker: string;
  let tokenEndpoint: string;
  let alice: string;

  /** Attest an instance whose key is a WebCrypto pair (as both libraries make them). */
  const attest = async (pair: Awaited<ReturnType<typeof oauth.generateKeyPair>>) => {
    const { x } = await crypto.subtle.exportKey('jwk', pair.publicKey);
    const publicJwk = { kty: 'OKP' as const, crv: 'Ed25519' as const, x: x! };
    const key = { privateKey: KeyObject.from(pair.privateKey), publicJwk, jkt: jwkThumbprint(publicJwk) };
    return AgentRuntime.bootstrap(server.url, { agent_id: 'nonce-bot', join_token: await joinToken(server, 'nonce-bot'), code_hash: CODE_HASH, environment: 'dev' }, key);
  };
  const exchangeBody = (identity: string) =>
    new URLSearchParams({ grant_type: TOKEN_EXCHANGE_GRANT, subject_token: alice, subject_token_type: TOKEN_TYPE.jwt, actor_token: identity, actor_token_type: TOKEN_TYPE.jwt, scope: SCOPE, resource: broker });

  beforeAll(async () => {
    server = await startTestServer('sqlite', { now: () => new Date(Date.now() + shift * 1000), config: { dpopNonce: true } });
    broker = `${server.url}/broker`;
    tokenEndpoint = `${server.ctx.issuer}/oauth/token`;
    upstream = await startUpstream('unused');
    await register(server, nonceBot);
    expect((await server.api('POST', '/v1/connections', { name: 'echo', base_url: `${upstream.url}/api`, allow: ['GET /**'] })).status).toBe(201);
    alice = await personToken(server, 'alice@example.com');
  });
  afterAll(async () => {
    await upstream?.close();
    await server?.close();
  });

  it('is off by default', () => {
    expect(loadConfig({ dataDir: '/tmp/unused' }, {}).dpopNonce).toBe(false);
    expect(loadConfig({ dataDir: '/tmp/unused' }, { MANDATE_DPOP_NONCE: 'true' }).dpopNonce).toBe(true);
  });

  it('panva/dpop: the token endpoint answers use_dpop_nonce with a DPoP-Nonce header, then accepts a proof carrying it', async () => {
    const keyPair = await dpop.generateKeyPair('Ed25519');
    const runtime = await attest(keyPair);
    const identity = await runtime.identityToken();
    const exchange = async (nonce?: string) =>
      fetch(tokenEndpoint, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: await dpop.generateProof(keyPair, tokenEndpoint, 'POST', nonce) }, body: exchangeBody(identity) });
    const challenged = await exchange();
    expect(challenged.status).toBe(400);
    expect(await readJson(challenged)).toEqual({ error: 'use_dpop_nonce', error_description: 'DPoP proof must carry the nonce the server provided' });
    const nonce = challenged.headers.get('dpop-nonce');
    expect(nonce).toMatch(/^[\x21\x23-\x5b\x5d-\x7e]+$/);
    const wrong = await exchange('made-up-nonce');
    expect([wrong.status, (await readJson(wrong)).error]).toEqual([400, 'use_dpop_nonce']);
    const accepted = await exchange(nonce!);
    expect(accepted.status).toBe(200);
    expect(accepted.headers.get('dpop-nonce')).toBe(nonce);
    const { access_token } = await readJson(accepted);

    // §9 at the broker: the challenge is a 401 with WWW-Authenticate and the nonce to use.
    const url = `${broker}/echo/items`;
    const call = async (n?: string) => fetch(url, { headers: { authorization: `DPoP ${access_token}`, dpop: await dpop.generateProof(keyPair, url, 'GET', n, access_token) } });
    const before = upstream.received.length;
    const resourceChallenge = await call();
    expect(resourceChallenge.status).toBe(401);
    expect(resourceChallenge.headers.get('www-authenticate')).toMatch(/^DPoP error="use_dpop_nonce", error_description="DPoP proof must carry the nonce the server provided"/);
    expect(await readJson(resourceChallenge)).toMatchObject({ error: 'ERR_DPOP_NONCE' });
    expect(upstream.received.length).toBe(before);
    expect((await call(resourceChallenge.headers.get('dpop-nonce')!)).status).toBe(200);
    expect(upstream.received.length).toBe(before + 1);
  });

  it('panva/dpop: the gateway challenges a proof without the nonce with 401 use_dpop_nonce and DPoP-Nonce', async () => {
    expect((await server.api('POST', '/v1/servers', { name: 'tools', transport: 'http', url: `${upstream.url}/mcp` })).status).toBe(201);
    const keyPair = await dpop.generateKeyPair('Ed25519');
    const runtime = await attest(keyPair);
    const gateway = `${server.url}/mcp/tools`;
    const mandate = await runtime.obtainMandate({ subjectToken: alice, scope: 'tool:tools/*', resource: gateway });
    const call = async (nonce?: string) =>
      fetch(gateway, {
        method: 'POST',
        headers: {
          authorization: `DPoP ${mandate.token}`,
          dpop: await dpop.generateProof(keyPair, gateway, 'POST', nonce, mandate.token),
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
      });
    const challenged = await call();
    expect(challenged.status).toBe(401);
    expect(challenged.headers.get('www-authenticate')).toMatch(/^DPoP error="use_dpop_nonce"/);
    const nonce = challenged.headers.get('dpop-nonce');
    expect(nonce).toBeTruthy();
    // Past authentication: the stand-in upstream is no MCP server, so what follows is not a challenge.
    expect((await call(nonce!)).status).not.toBe(401);
  });

  it('oauth4webapi: retries on use_dpop_nonce at the token endpoint and at the broker, as its documentation says', async () => {
    const issuer = new URL(server.ctx.issuer);
    const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
    const client: oauth.Client = { client_id: 'nonce-bot', token_endpoint_auth_method: 'none' };
    const keyPair = await oauth.generateKeyPair('Ed25519');
    const identity = await (await attest(keyPair)).identityToken();
    const DPoP = oauth.DPoP(client, keyPair);
    const exchange = async () => oauth.processGenericTokenEndpointResponse(as, client, await oauth.genericTokenEndpointRequest(as, client, oauth.None(), TOKEN_EXCHANGE_GRANT, exchangeBody(identity), { DPoP, ...insecure }));
    let tokens: oauth.TokenEndpointResponse | undefined;
    let retried = 0;
    try {
      tokens = await exchange();
    } catch (error) {
      expect(oauth.isDPoPNonceError(error)).toBe(true);
      retried++;
      tokens = await exchange();
    }
    expect(retried).toBe(1);
    expect(tokens).toMatchObject({ token_type: 'dpop', scope: SCOPE });

    // A new handle holds no nonce: the broker's §9 challenge makes it retry once.
    const fresh = oauth.DPoP(client, keyPair);
    const url = new URL(`${broker}/echo/items?from=oauth4webapi`);
    const call = () => oauth.protectedResourceRequest(tokens.access_token, 'GET', url, undefined, undefined, { DPoP: fresh, ...insecure });
    let response: Response;
    try {
      response = await call();
      expect.unreachable('the broker should have asked for its nonce');
    } catch (error) {
      expect(oauth.isDPoPNonceError(error)).toBe(true);
      response = await call();
    }
    expect(response.status).toBe(200);
  });

  it('the SDK retries once on use_dpop_nonce, at the token endpoint and at the broker', async () => {
    const runtime = await bootstrap(server, 'nonce-bot', { environment: 'dev' });
    const refusedBefore = server.audit.ofType('token.refused').length;
    const mandate = await runtime.obtainMandate({ subjectToken: alice, scope: SCOPE, resource: broker });
    expect(server.audit.ofType('token.refused').length - refusedBefore).toBe(1);
    // The same instance restored in a new process holds no nonce yet.
    const restored = AgentRuntime.restore(runtime.export());
    const before = upstream.received.length;
    const res = await restored.fetchWith(mandate)(`${broker}/echo/items?from=sdk`);
    expect(res.status).toBe(200);
    expect(upstream.received.length).toBe(before + 1);
  });

  it('refuses a nonce two windows old, and sends a fresh one with the refusal', async () => {
    const runtime = await bootstrap(server, 'nonce-bot', { environment: 'dev' });
    const form = await exchangeForm(runtime, alice, broker, { scope: SCOPE });
    const proof = (nonce?: string) => createDpopProof({ privateKey: runtime.key.privateKey, publicJwk: runtime.key.publicJwk, htm: 'POST', htu: tokenEndpoint, now: server.ctx.now(), ...(nonce ? { nonce } : {}) });
    const nonce = server.ctx.dpopNonces!.current(server.ctx.now());
    shift = 60;
    expect((await tokenRequest(server, form, proof(nonce))).status).toBe(200);
    shift = 125;
    const stale = await fetch(`${server.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: proof(nonce) }, body: new URLSearchParams(form) });
    expect([stale.status, (await readJson(stale)).error]).toEqual([400, 'use_dpop_nonce']);
    const next = stale.headers.get('dpop-nonce')!;
    expect(next).not.toBe(nonce);
    expect((await tokenRequest(server, form, proof(next))).status).toBe(200);
    shift = 0;
  });
});
