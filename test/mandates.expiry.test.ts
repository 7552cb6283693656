import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentRuntime } from '../src/sdk/runtime.ts';
import { rawRequest, startUpstream } from './broker.peers.ts';
import { CODE_HASH, bootstrap, decode, personToken, register, summarizer } from './fixtures.ts';
import { readJson, startTestServer, type TestServer } from './harness.ts';
import { exchangeAs, expectRefused, form, formHeaders, proofFor } from './mandates.kit.ts';

/**
 * Mandate's own tokens end exactly at `exp`, with no clock leeway, at introspection and at every
 * enforcement point. The server's clock is injected and set to exp-1s, exp and exp+1s; the proofs
 * are dated by that clock so only the token's lifetime is under test.
 */
const expiryBot = {
  id: 'expiry-bot',
  name: 'Expiry bot',
  owner: 'alice@example.com',
  environment: 'dev',
  roles: ['operator'],
  code_hashes: [CODE_HASH],
  toolset: ['http:echo:*:/**', 'tool:github/*'],
  may_delegate_to: ['summarizer'],
  max_token_lifetime: '5m',
};

describe('mandates expire exactly at exp', () => {
  let at: number | undefined;
  let server: TestServer;
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let runtime: AgentRuntime;
  let child: AgentRuntime;
  let mandate: string;
  let exp: number;
  let port: number;

  const setClock = (seconds: number | undefined) => {
    at = seconds === undefined ? undefined : seconds * 1000;
  };

  beforeAll(async () => {
    server = await startTestServer('sqlite', { now: () => (at === undefined ? new Date() : new Date(at)) });
    port = Number(new URL(server.url).port);
    upstream = await startUpstream('unused');
    await register(server, expiryBot);
    await register(server, summarizer);
    expect((await server.api('PUT', '/v1/secrets/echo_key', { value: 'echo-key-0b1c2d3e4f' })).status).toBe(200);
    const created = await server.api('POST', '/v1/connections', { name: 'echo', base_url: `${upstream.url}/api`, inject: ['header:X-Api-Key={{secret:echo_key}}'], allow: ['GET /**'] });
    expect(created.status).toBe(201);
    runtime = await bootstrap(server, 'expiry-bot', { environment: 'dev' });
    child = await bootstrap(server, 'summarizer');
    const alice = await personToken(server, 'alice@example.com');
    mandate = (await runtime.obtainMandate({ subjectToken: alice, scope: 'http:echo:GET:/** tool:github/search_issues', resource: [`${server.url}/broker`, `${server.url}/mcp/github`] })).token;
    exp = decode(mandate).exp;
  });
  afterAll(async () => {
    await upstream?.close();
    await server?.close();
  });

  const introspect = async () => readJson(await server.api('POST', '/oauth/introspect', form({ token: mandate }), formHeaders));
  const brokerCall = () =>
    rawRequest(port, 'GET', '/broker/echo/items', {
      authorization: `DPoP ${mandate}`,
      dpop: proofFor(server, runtime.key, 'GET', `${server.url}/broker/echo/items`, mandate),
    });

  it('is active at introspection one second before exp, and inactive at exp and after', async () => {
    setClock(exp - 1);
    expect(await introspect()).toMatchObject({ active: true, exp });
    for (const t of [exp, exp + 1]) {
      setClock(t);
      expect(await introspect()).toEqual({ active: false });
    }
  });

  it('is accepted by the broker one second before exp and refused at exp with ERR_TOKEN_EXPIRED', async () => {
    setClock(exp - 1);
    const before = upstream.received.length;
    expect((await brokerCall()).status).toBe(200);
    expect(upstream.received.length).toBe(before + 1);
    for (const t of [exp, exp + 1]) {
      setClock(t);
      const refused = await brokerCall();
      expect(refused.status).toBe(401);
      expect(refused.headers['www-authenticate']).toContain('error="invalid_token", error_description="token has expired"');
      expect(JSON.parse(refused.body)).toEqual({ error: 'ERR_TOKEN_EXPIRED', message: 'token has expired' });
    }
    expect(upstream.received.length).toBe(before + 1);
  });

  it('is refused by the gateway at exp with invalid_token "token has expired"', async () => {
    const resource = `${server.url}/mcp/github`;
    // The upstream is no MCP server: authentication is decided before any upstream is reached.
    const added = await server.api('POST', '/v1/servers', { name: 'github', transport: 'http', url: `${upstream.url}/mcp` });
    expect(added.status).toBe(201);
    const call = () =>
      fetch(resource, {
        method: 'POST',
        headers: {
          authorization: `DPoP ${mandate}`,
          dpop: proofFor(server, runtime.key, 'POST', resource, mandate),
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
      });
    setClock(exp - 1);
    expect((await call()).status).not.toBe(401);
    for (const t of [exp, exp + 1]) {
      setClock(t);
      const refused = await call();
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toContain('error="invalid_token", error_description="token has expired"');
    }
  });

  it('cannot be delegated at exp: the child exchange is refused with ERR_TOKEN_EXPIRED', async () => {
    setClock(exp);
    const github = `${server.url}/mcp/github`;
    await expectRefused(server, () => exchangeAs(server, child, mandate, github), { error: 'invalid_request', code: 'ERR_TOKEN_EXPIRED', description: 'token has expired' });
  });

  it('refuses an identity token at its exp as the actor of an exchange', async () => {
    setClock(undefined);
    const identity = await runtime.identityToken();
    const identityExp = decode(identity).exp;
    const alice = await personToken(server, 'alice@example.com');
    const github = `${server.url}/mcp/github`;
    setClock(identityExp);
    await expectRefused(server, () => exchangeAs(server, runtime, alice, github, { actor_token: identity }), { error: 'invalid_request', code: 'ERR_TOKEN_EXPIRED' });
    setClock(identityExp - 1);
    const answer = await exchangeAs(server, runtime, alice, github, { actor_token: identity });
    expect(answer.status).toBe(200);
  });
});
