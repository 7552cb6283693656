import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAuditEvent } from '../src/audit/event.ts';
import type { AgentRuntime, Mandate } from '../src/sdk/runtime.ts';
import { CODE_HASH, bootstrap, personToken, register } from './fixtures.ts';
import { readJson, startTestServer, type TestServer } from './harness.ts';
import { rawRequest, startUpstream } from './broker.peers.ts';

/** Real peers: a loopback HTTP API that records what it receives, and agents using the SDK's fetch. */
const SECRET = 'ghp_7Yk2mQx9RtB4vLw8ZpN3cJ6hFd1sGa5eUo0i';
const ALICE_KEY = 'alice-key-5b1f0c9e8d7a6b4c3e2f1a0d';
const BOB_KEY = 'bob-key-93e7d1c5a2f8b6e4d0c9a7f3';
const USER = 'svc-reporting';
const PASS = 'p4ss-W0rd-2f9c8e7d6b5a4';

const brokerBot = {
  id: 'broker-bot',
  name: 'Broker bot',
  owner: 'alice@example.com',
  environment: 'dev',
  roles: ['operator'],
  code_hashes: [CODE_HASH],
  toolset: ['http:echo:*:/**', 'http:perperson:*:/**', 'http:keyed:*:/**', 'http:basic:*:/**', 'http:meta:*:/**', 'http:rebind:*:/**', 'http:named:*:/**', 'http:closed:*:/**'],
};
const ALL_SCOPE = brokerBot.toolset.join(' ');

describe('the credential broker in front of a real HTTP API', () => {
  let server: TestServer;
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let runtime: AgentRuntime;
  let mandate: Mandate;
  let agentFetch: typeof fetch;
  let broker: string;

  const mandateFor = async (person: string, scope = ALL_SCOPE, resource = `${server.url}/broker`) =>
    runtime.obtainMandate({ subjectToken: await personToken(server, person), scope, resource });
  const connection = async (spec: object) => {
    const res = await server.api('POST', '/v1/connections', spec);
    if (res.status !== 201) throw new Error(`connection failed: ${res.status} ${await res.text()}`);
  };
  /** A raw request carrying a mandate and a proof signed over exactly this target. */
  const hostile = (method: string, target: string, headers: Record<string, string> = {}, m = mandate) =>
    rawRequest(Number(new URL(server.url).port), method, target, {
      authorization: `DPoP ${m.token}`,
      dpop: runtime.proof(method, `${server.url}${target.split('?')[0]}`, m.token),
      ...headers,
    });
  const forwardedCount = () => upstream.received.length;

  beforeAll(async () => {
    server = await startTestServer('sqlite');
    broker = `${server.url}/broker`;
    upstream = await startUpstream(SECRET);
    await register(server, brokerBot);
    for (const [name, value] of [['github_token', SECRET], ['person_token/alice@example.com', ALICE_KEY], ['person_token/bob@example.com', BOB_KEY], ['user', USER], ['pass', PASS]]) {
      expect((await server.api('PUT', `/v1/secrets/${encodeURIComponent(name!)}`, { value })).status).toBe(200);
    }
    await connection({
      name: 'echo',
      base_url: `${upstream.url}/api`,
      inject: ['header:Authorization=Bearer {{secret:github_token}}'],
      allow: ['GET /**', 'POST /**', 'DELETE /admin/**'],
      endpoints: [{ match: 'DELETE /admin/**', high_impact: true, cost: 10 }],
      timeout_ms: 500,
      body_limit: 64 * 1024,
    });
    await connection({ name: 'perperson', base_url: `${upstream.url}/api`, inject: ['header:X-Api-Key={{secret:person_token/<sub>}}'], allow: ['GET /**'] });
    await connection({ name: 'keyed', base_url: `${upstream.url}/api`, inject: ['query:api_key={{secret:github_token}}'], allow: ['GET /**'] });
    await connection({ name: 'basic', base_url: `${upstream.url}/api`, inject: ['basic:{{secret:user}}:{{secret:pass}}'], allow: ['GET /**'] });
    runtime = await bootstrap(server, 'broker-bot', { environment: 'dev' });
    mandate = await mandateFor('alice@example.com');
    agentFetch = runtime.fetchWith(mandate);
  });

  afterAll(async () => {
    await upstream?.close();
    await server?.close();
  });

  it('injects the credential, drops the agent’s own credentials, and scrubs the secret from what comes back', async () => {
    const before = forwardedCount();
    const res = await agentFetch(`${broker}/echo/echo/repos?per_page=5`, {
      headers: { cookie: 'agent-session=1', 'proxy-authorization': 'Basic eDp5', 'x-forwarded-for': '10.0.0.1', 'x-request-id': 'r-1' },
    });
    const text = await res.text();
    expect(res.status).toBe(200);
    const got = upstream.received[before]!;
    expect(upstream.received.length).toBe(before + 1);
    expect(got.url).toBe('/api/echo/repos?per_page=5');
    expect(got.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(got.headers.cookie).toBeUndefined();
    expect(got.headers.dpop).toBeUndefined();
    expect(got.headers['proxy-authorization']).toBeUndefined();
    expect(got.headers['x-forwarded-for']).toBeUndefined();
    expect(got.headers['x-request-id']).toBe('r-1');
    // The upstream echoed the credential in its body and a header: the agent sees neither.
    const all = `${text}\n${JSON.stringify([...res.headers])}`;
    expect(all).not.toContain(SECRET);
    expect(JSON.parse(text).headers.authorization).toBe('Bearer [REDACTED]');
    expect(res.headers.get('x-echo-auth')).toBe('Bearer [REDACTED]');
    for (const name of ['set-cookie', 'www-authenticate', 'strict-transport-security']) expect(res.headers.get(name)).toBeNull();
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('forwards the agent’s body and content type as sent', async () => {
    const before = forwardedCount();
    const res = await agentFetch(`${broker}/echo/repos/acme/issues`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"title":"bug"}' });
    expect(res.status).toBe(200);
    const got = upstream.received[before]!;
    expect([got.method, got.url, got.headers['content-type'], got.body]).toEqual(['POST', '/api/repos/acme/issues', 'application/json', '{"title":"bug"}']);
  });

  it('audits the decision before forwarding and the result with its size after', async () => {
    await agentFetch(`${broker}/echo/echo/audited`);
    const events = server.audit.events.filter((e) => e.resource === 'echo GET /echo/audited');
    expect(events.map((e) => [e.type, e.decision ?? null, e.status])).toEqual([
      ['http.decision', 'allow', 'success'],
      ['http.result', null, 'success'],
    ]);
    expect(events[0]).toMatchObject({ actor: { instance: runtime.instanceId, agent: 'broker-bot', person: 'alice@example.com' }, args: { method: 'GET', path: '/echo/audited' } });
    expect(events[1]!.data!.bytes).toBeGreaterThan(0);
    expect(JSON.stringify(server.audit.events)).not.toContain(SECRET);
  });

  it('refuses path traversal in every spelling with exact codes, and forwards nothing', async () => {
    const before = forwardedCount();
    const cases: Array<[string, string]> = [
      ['/broker/echo/../../v1/agents', 'ERR_BROKER_PATH_TRAVERSAL'],
      ['/broker/echo/echo/%2e%2e/%2E%2E/admin', 'ERR_BROKER_PATH_TRAVERSAL'],
      ['/broker/echo/echo/.%2e/x', 'ERR_BROKER_PATH_TRAVERSAL'],
      ['/broker/echo/echo/..;/admin', 'ERR_BROKER_PATH_TRAVERSAL'],
      ['/broker/echo/echo/%EF%BC%8E%EF%BC%8E/admin', 'ERR_BROKER_PATH_TRAVERSAL'],
      ['/broker/echo/echo/..%2f..%2fadmin', 'ERR_BROKER_PATH_ENCODED_SEPARATOR'],
      ['/broker/echo/echo%2F..%2F..%2Fadmin', 'ERR_BROKER_PATH_ENCODED_SEPARATOR'],
      ['/broker/echo/echo/a%5c..%5cb', 'ERR_BROKER_PATH_ENCODED_SEPARATOR'],
      ['/broker/echo/echo//etc/passwd', 'ERR_BROKER_PATH_INVALID'],
      ['/broker/echo/echo/%00', 'ERR_BROKER_PATH_INVALID'],
    ];
    for (const [target, code] of cases) {
      const res = await hostile('GET', target);
      expect({ target, status: res.status, error: JSON.parse(res.body).error }).toEqual({ target, status: 400, error: code });
    }
    // Percent-encodings that are not UTF-8 (overlong dots) are already refused by the router.
    expect((await hostile('GET', '/broker/echo/echo/%C0%AE%C0%AE/x')).status).toBe(400);
    expect(forwardedCount()).toBe(before);
    expect(server.audit.events.filter((e) => e.denial_reason === 'ERR_BROKER_PATH_TRAVERSAL').length).toBe(5);
  });

  it('refuses base URLs that spell loopback another way or name link-local addresses', async () => {
    const { port } = upstream;
    for (const base_url of [`http://2130706433:${port}/api`, `http://0x7f.1:${port}/api`, `http://127.1:${port}/api`, `http://0177.0.0.1:${port}/`, `http://127.0.0.1.:${port}/`, `http://[::ffff:127.0.0.1]:${port}/`, 'http://169.254.169.254/latest/meta-data', 'https://169.254.169.254/', `http://user:pw@127.0.0.1:${port}/`]) {
      const res = await server.api('POST', '/v1/connections', { name: 'tricky', base_url, allow: ['GET /**'] });
      expect({ base_url, status: res.status, code: (await readJson(res)).code }).toEqual({ base_url, status: 400, code: 'ERR_CONNECTION_BASE_URL' });
    }
    expect((await server.api('POST', '/v1/connections', { name: 'tricky', base_url: 'http://api.example.com/', allow: ['GET /**'] })).status).toBe(400);
  });

  it('refuses a tampered stored base URL at call time, before any connect', async () => {
    await connection({ name: 'named', base_url: `${upstream.url}/api`, allow: ['GET /**'] });
    const spec = JSON.stringify({ name: 'named', type: 'http', base_url: `http://2130706433:${upstream.port}/api`, inject: [], allow: ['GET /**'], endpoints: [], timeout_ms: 1000, body_limit: 1024 * 1024, insecure: false });
    await server.ctx.store.db.updateTable('connections').set({ spec }).where('name', '=', 'named').execute();
    const before = forwardedCount();
    const res = await agentFetch(`${broker}/named/echo`);
    expect(res.status).toBe(502);
    expect((await readJson(res)).error).toBe('ERR_UPSTREAM_ADDRESS_REFUSED');
    expect(forwardedCount()).toBe(before);
  });

  it('checks resolved addresses at connect time: names that resolve to metadata or loopback are refused', async () => {
    (server.app.broker.deps as { resolver?: unknown }).resolver = async (host: string) =>
      host === 'metadata.test' ? [{ address: '169.254.169.254', family: 4 }] : host === 'rebind.test' ? [{ address: '127.0.0.1', family: 4 }] : [];
    await connection({ name: 'meta', base_url: `http://metadata.test:${upstream.port}/`, insecure: true, allow: ['GET /**'] });
    await connection({ name: 'rebind', base_url: `http://rebind.test:${upstream.port}/`, insecure: true, allow: ['GET /**'] });
    const before = forwardedCount();
    for (const name of ['meta', 'rebind']) {
      const res = await agentFetch(`${broker}/${name}/latest`);
      expect(res.status).toBe(502);
      expect(await readJson(res)).toMatchObject({ error: 'ERR_UPSTREAM_ADDRESS_REFUSED' });
    }
    expect(forwardedCount()).toBe(before);
  });

  it('never follows redirects: another origin loses its Location, the same upstream points back through the broker', async () => {
    const before = forwardedCount();
    const away = await agentFetch(`${broker}/echo/redirect-away`, { redirect: 'manual' });
    expect(away.status).toBe(302);
    expect(away.headers.get('location')).toBeNull();
    const home = await agentFetch(`${broker}/echo/redirect-home`, { redirect: 'manual' });
    expect(home.status).toBe(303);
    expect(home.headers.get('location')).toBe(`${broker}/echo/echo/next?page=2`);
    expect(forwardedCount()).toBe(before + 2);
  });

  it('picks the per-person credential of the mandate’s person', async () => {
    const bobFetch = runtime.fetchWith(await mandateFor('bob@example.com'));
    const before = forwardedCount();
    expect((await agentFetch(`${broker}/perperson/echo/me`)).status).toBe(200);
    const res = await bobFetch(`${broker}/perperson/echo/me`);
    expect(await res.text()).not.toContain(BOB_KEY);
    expect(upstream.received.slice(before).map((r) => r.headers['x-api-key'])).toEqual([ALICE_KEY, BOB_KEY]);
    const carol = await runtime.fetchWith(await mandateFor('carol@example.com'))(`${broker}/perperson/echo/me`);
    expect(carol.status).toBe(502);
    expect(await readJson(carol)).toMatchObject({ error: 'ERR_BROKER_CREDENTIAL_MISSING' });
    expect(forwardedCount()).toBe(before + 2);
  });

  it('injects query and Basic credentials, replacing the agent’s own parameter, and scrubs their encodings', async () => {
    const before = forwardedCount();
    const keyed = await agentFetch(`${broker}/keyed/echo?api_key=mine&q=1`);
    expect(upstream.received[before]!.url).toBe(`/api/echo?q=1&api_key=${SECRET}`);
    expect(await keyed.text()).not.toContain(SECRET);
    const basic = await agentFetch(`${broker}/basic/echo`);
    const sent = upstream.received[before + 1]!.headers.authorization!;
    expect(Buffer.from(sent.replace('Basic ', ''), 'base64').toString()).toBe(`${USER}:${PASS}`);
    const text = await basic.text();
    expect(text).not.toContain(sent.slice(6));
    expect(text).not.toContain(PASS);
  });

  it('holds a high-impact endpoint for approval, with the policy reason, forwarding nothing', async () => {
    const before = forwardedCount();
    const res = await agentFetch(`${broker}/echo/admin/users/7`, { method: 'DELETE' });
    expect(res.status).toBe(403);
    const body = await readJson(res);
    expect(body.error).toBe('ERR_APPROVAL_REQUIRED');
    expect(body.message).toContain('a person must approve this call');
    expect(forwardedCount()).toBe(before);
  });

  it('refuses what the connection does not allow and what the mandate does not cover', async () => {
    const before = forwardedCount();
    const put = await agentFetch(`${broker}/echo/echo/x`, { method: 'PUT', body: '{}' });
    expect(put.status).toBe(403);
    expect((await readJson(put)).error).toBe('ERR_BROKER_ENDPOINT_NOT_ALLOWED');
    const narrow = runtime.fetchWith(await mandateFor('alice@example.com', 'http:echo:GET:/echo/*'));
    const outside = await narrow(`${broker}/echo/echo/a/b`);
    expect(outside.status).toBe(403);
    expect(await readJson(outside)).toEqual({ error: 'ERR_SCOPE_NOT_GRANTED', message: 'the mandate does not cover http:echo:GET:/echo/a/b' });
    const trace = await hostile('TRACE', '/broker/echo/echo');
    expect([trace.status, JSON.parse(trace.body).error]).toEqual([405, 'ERR_BROKER_METHOD']);
    expect(forwardedCount()).toBe(before);
  });

  it('accepts a mandate for one connection only there', async () => {
    const only = runtime.fetchWith(await mandateFor('alice@example.com', ALL_SCOPE, `${broker}/echo`));
    expect((await only(`${broker}/echo/echo`)).status).toBe(200);
    const elsewhere = await only(`${broker}/keyed/echo`);
    expect(elsewhere.status).toBe(401);
    expect(elsewhere.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('answers a call without a mandate with 401 and a DPoP challenge naming the resource metadata', async () => {
    const before = forwardedCount();
    const res = await fetch(`${broker}/echo/echo`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^DPoP /);
    expect(res.headers.get('www-authenticate')).toContain(`resource_metadata="${server.url}/.well-known/oauth-protected-resource/broker/echo"`);
    expect(await readJson(res)).toMatchObject({ error: 'ERR_TOKEN_MISSING' });
    const metadata = await readJson(await fetch(`${server.url}/.well-known/oauth-protected-resource/broker/echo`));
    expect(metadata).toMatchObject({ resource: `${broker}/echo`, authorization_servers: [server.url], dpop_bound_access_tokens_required: true });
    expect(forwardedCount()).toBe(before);
  });

  it('refuses CR/LF in headers: from the agent at the HTTP parser, from a stored credential before sending', async () => {
    const before = forwardedCount();
    const reply = await new Promise<string>((resolve) => {
      const socket = net.connect(Number(new URL(server.url).port), '127.0.0.1', () => {
        socket.end(`GET /broker/echo/echo HTTP/1.1\r\nHost: x\r\nX-Note: a\rInjected: 1\r\n\r\n`);
      });
      let seen = '';
      socket.on('data', (d) => (seen += d.toString()));
      socket.on('close', () => resolve(seen));
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    await server.api('PUT', `/v1/secrets/${encodeURIComponent('person_token/dave@example.com')}`, { value: 'key\r\nX-Admin: true' });
    const dave = await runtime.fetchWith(await mandateFor('dave@example.com'))(`${broker}/perperson/echo`);
    expect(dave.status).toBe(502);
    expect(await readJson(dave)).toMatchObject({ error: 'ERR_BROKER_CREDENTIAL_INVALID' });
    const bad = await server.api('POST', '/v1/connections', { name: 'crlf', base_url: `${upstream.url}/`, inject: ['header:X-Key=a\r\nX-Admin: 1'], allow: ['GET /**'] });
    expect((await readJson(bad)).code).toBe('ERR_CONNECTION_INJECT');
    expect(forwardedCount()).toBe(before);
  });

  it('decodes and scrubs compressed bodies, and withholds a binary body that carries the secret', async () => {
    const gz = await agentFetch(`${broker}/echo/gzip`);
    expect(await readJson(gz)).toEqual({ auth: 'Bearer [REDACTED]' });
    expect(gz.headers.get('content-encoding')).toBeNull();
    const bin = await agentFetch(`${broker}/echo/binary`);
    expect(bin.status).toBe(502);
    expect(await readJson(bin)).toMatchObject({ error: 'ERR_UPSTREAM_SECRET_IN_BODY' });
  });

  it('reports upstream failures clearly, without the secret, and audits them', async () => {
    const slow = await agentFetch(`${broker}/echo/slow`);
    expect(slow.status).toBe(504);
    expect(await readJson(slow)).toMatchObject({ error: 'ERR_UPSTREAM_TIMEOUT' });
    const big = await agentFetch(`${broker}/echo/big`);
    expect(big.status).toBe(502);
    expect(await readJson(big)).toMatchObject({ error: 'ERR_UPSTREAM_TOO_LARGE' });
    const missing = await agentFetch(`${broker}/echo/missing`);
    expect(missing.status).toBe(404);
    const tooBig = await agentFetch(`${broker}/echo/upload`, { method: 'POST', body: 'y'.repeat(100 * 1024) });
    expect(tooBig.status).toBe(413);
    const closed = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    await connection({ name: 'closed', base_url: `http://127.0.0.1:${closed}/`, inject: ['query:key={{secret:github_token}}'], allow: ['GET /**'] });
    const down = await agentFetch(`${broker}/closed/x`);
    expect(down.status).toBe(502);
    const body = await down.text();
    expect(JSON.parse(body)).toMatchObject({ error: 'ERR_UPSTREAM_UNAVAILABLE' });
    expect(body).not.toContain(SECRET);
    const results = server.audit.events.filter((e) => e.type === 'http.result' && e.status === 'failure').map((e) => e.denial_reason);
    expect(results).toEqual(expect.arrayContaining(['ERR_UPSTREAM_TIMEOUT', 'ERR_UPSTREAM_TOO_LARGE', 'ERR_UPSTREAM_HTTP_STATUS', 'ERR_UPSTREAM_UNAVAILABLE']));
    // The upstream's status is kept on the event, and the event stays a valid one (verify, export, import).
    const httpError = server.audit.events.find((e) => e.type === 'http.result' && e.denial_reason === 'ERR_UPSTREAM_HTTP_STATUS');
    expect(httpError?.data).toMatchObject({ upstream_status: 404 });
    expect(() => parseAuditEvent(httpError)).not.toThrow();
  });
});
