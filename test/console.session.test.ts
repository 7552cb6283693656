import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGrant } from '../src/people/roles.ts';
import { createAdminToken } from '../src/server/admin-tokens.ts';
import { CONSOLE_CSP, consoleRoutes } from '../src/server/console.ts';
import { consoleSessionsRepository } from '../src/store/repositories/console-sessions.ts';
import { decisionsPerMinute } from '../src/audit/decision-rate.ts';
import { StoreAuditWriter } from '../src/audit/store-writer.ts';
import type { EventDraft } from '../src/audit/chain.ts';
import { register, supportBot } from './fixtures.ts';
import { dialects, openTestStore, readJson, startTestServer, tempDir, type TestServer } from './harness.ts';
import { MANDATE_CLIENT, providerAddress, signIn as signInAtProvider, startTestProvider, type TestProvider } from './oidc-provider.ts';

/**
 * Issue 17: the console is served by the server itself under a strict policy, and a console
 * session is a cookie that authenticates the JSON API with exactly the operator token's roles,
 * refuses forged changes, and ends on the server when the operator signs out.
 */
const cookieOf = (res: Response) => res.headers.get('set-cookie')!.split(';')[0]!;

describe('the console build served at /console', () => {
  const dist = tempDir('mandate-console-dist-');
  fs.mkdirSync(path.join(dist, 'assets'));
  fs.writeFileSync(path.join(dist, 'index.html'), '<!doctype html><title>console</title><script type="module" src="/console/assets/index-abc123.js"></script>');
  fs.writeFileSync(path.join(dist, 'assets/index-abc123.js'), 'console.log(1)');
  const app = Fastify();
  consoleRoutes(app, { dist });
  const missing = Fastify();
  consoleRoutes(missing, { dist: path.join(dist, 'nothing-here') });
  afterAll(async () => {
    await app.close();
    await missing.close();
    fs.rmSync(dist, { recursive: true, force: true });
  });

  it('sends / to the console', async () => {
    const res = await app.inject({ url: '/' });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe('/console/');
  });

  it('answers every page with index.html, never cached, under the strict policy', async () => {
    for (const url of ['/console/', '/console/agents', '/console/audit/anything']) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
      expect(res.body).toContain('index-abc123.js');
    }
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).toContain("frame-ancestors 'none'");
    expect(CONSOLE_CSP).not.toContain('unsafe-inline');
  });

  it('caches hashed assets for good and answers a missing one 404', async () => {
    const asset = await app.inject({ url: '/console/assets/index-abc123.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toMatch(/^text\/javascript/);
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect((await app.inject({ url: '/console/assets/index-old999.js' })).statusCode).toBe(404);
    expect((await app.inject({ url: '/console/../package.json' })).statusCode).not.toBe(200);
  });

  it('says how to build the console when there is no build', async () => {
    const res = await missing.inject({ url: '/console/' });
    expect(res.statusCode).toBe(503);
    expect(res.body).toContain('npm run build:console');
  });
});

describe.each(await dialects())('console sessions on %s', (dialect) => {
  let server: TestServer;
  let auditorToken: string;
  const post = (route: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const withCookie = (method: string, route: string, cookie: string, headers: Record<string, string> = {}, body?: unknown) =>
    fetch(`${server.url}${route}`, {
      method,
      headers: { cookie, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const signIn = async (token: string) => {
    const res = await post('/v1/console/session', { token }, { origin: server.url });
    expect(res.status).toBe(201);
    return { cookie: cookieOf(res), session: await readJson(res), setCookie: res.headers.get('set-cookie')! };
  };

  beforeAll(async () => {
    server = await startTestServer(dialect);
    await register(server, supportBot);
    auditorToken = (await createAdminToken(server.ctx.store.db, { name: 'audrey@example.com', grants: [parseGrant('auditor')!], now: new Date() })).token;
  });
  afterAll(() => server.close());

  it('exchanges a pasted token for an HttpOnly, SameSite=Strict cookie and never hands the token back', async () => {
    const before = server.audit.events.length;
    const { session, setCookie } = await signIn(server.token);
    expect(setCookie).toMatch(/^mandate_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    expect(session).toMatchObject({ roles: ['admin'], csrf_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    expect(JSON.stringify(session)).not.toContain(server.token);
    expect(server.audit.events.slice(before)).toEqual([expect.objectContaining({ type: 'admin.console_signed_in', chain: 'system', status: 'success' })]);
    expect(JSON.stringify(server.audit.events)).not.toContain(server.token);
  });

  it('refuses a token that is not one, and a sign-in from another origin', async () => {
    const bad = await post('/v1/console/session', { token: 'mdt_AAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB' }, { origin: server.url });
    expect(bad.status).toBe(401);
    expect(await readJson(bad)).toMatchObject({ code: 'ERR_CONSOLE_TOKEN_INVALID' });
    expect(bad.headers.get('set-cookie')).toBeNull();
    const foreign = await post('/v1/console/session', { token: server.token }, { origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect(await readJson(foreign)).toMatchObject({ code: 'ERR_CSRF_REJECTED' });
    expect(foreign.headers.get('set-cookie')).toBeNull();
  });

  it('authenticates the JSON API with the cookie, and a change only with the CSRF token from this origin', async () => {
    const { cookie, session } = await signIn(server.token);
    const agents = await withCookie('GET', '/v1/agents', cookie);
    expect(agents.status).toBe(200);
    expect((await readJson(agents)).agents.map((a: { id: string }) => a.id)).toContain('support-bot');
    const me = await readJson(await withCookie('GET', '/v1/console/session', cookie));
    expect(me.csrf_token).toBe(session.csrf_token);

    for (const headers of [{ origin: server.url } as Record<string, string>, { origin: server.url, 'x-csrf-token': 'A'.repeat(43) }, { origin: 'https://evil.example', 'x-csrf-token': session.csrf_token }]) {
      const before = server.audit.events.length;
      const forged = await withCookie('POST', '/v1/agents/support-bot/suspend', cookie, headers, {});
      expect(forged.status).toBe(403);
      expect(await readJson(forged)).toMatchObject({ code: 'ERR_CSRF_REJECTED' });
      expect(server.audit.events.slice(before)).toEqual([expect.objectContaining({ type: 'admin.access_refused', denial_reason: 'ERR_CSRF_REJECTED' })]);
    }
    expect((await readJson(await server.api('GET', '/v1/agents/support-bot'))).status).toBe('active');

    const before = server.audit.events.length;
    const done = await withCookie('POST', '/v1/agents/support-bot/suspend', cookie, { origin: server.url, 'x-csrf-token': session.csrf_token }, {});
    expect(done.status).toBe(200);
    expect(server.audit.events.slice(before)).toContainEqual(expect.objectContaining({ type: 'admin.agent_suspended', status: 'success' }));
    await withCookie('POST', '/v1/agents/support-bot/resume', cookie, { origin: server.url, 'x-csrf-token': session.csrf_token }, {});
  });

  it("gives a session exactly its token's roles: an auditor reads and is refused a change", async () => {
    const { cookie, session } = await signIn(auditorToken);
    expect(session.roles).toEqual(['auditor']);
    expect((await withCookie('GET', '/v1/audit/events?limit=1', cookie)).status).toBe(200);
    const res = await withCookie('POST', '/v1/agents/support-bot/suspend', cookie, { origin: server.url, 'x-csrf-token': session.csrf_token }, {});
    expect(res.status).toBe(403);
    expect(await readJson(res)).toMatchObject({ code: 'ERR_FORBIDDEN' });
    expect((await readJson(await server.api('GET', '/v1/agents/support-bot'))).status).toBe('active');
  });

  it('ends the session on the server at sign-out, and with its token', async () => {
    const { cookie, session } = await signIn(server.token);
    const before = server.audit.events.length;
    const out = await withCookie('DELETE', '/v1/console/session', cookie, { origin: server.url, 'x-csrf-token': session.csrf_token });
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toMatch(/^mandate_session=; .*Max-Age=0/);
    expect(server.audit.events.slice(before)).toContainEqual(expect.objectContaining({ type: 'admin.console_signed_out' }));
    const after = await withCookie('GET', '/v1/agents', cookie);
    expect(after.status).toBe(401);

    const created = await readJson(await server.api('POST', '/v1/tokens', { name: 'short', roles: ['auditor'], ttl: '1h' }));
    const second = await signIn(created.token);
    expect((await withCookie('GET', '/v1/agents', second.cookie)).status).toBe(200);
    expect((await server.api('DELETE', `/v1/tokens/${created.id}`)).status).toBe(200);
    expect((await withCookie('GET', '/v1/agents', second.cookie)).status).toBe(401);
  });

  it('lists live mandates and decisions per minute for the console', async () => {
    const mandates = await readJson(await server.api('GET', '/v1/mandates'));
    expect(mandates).toMatchObject({ mandates: expect.any(Array), next_cursor: null });
    const decisions = await readJson(await server.api('GET', '/v1/audit/decisions?since=1h'));
    expect(decisions).toMatchObject({ minutes: expect.any(Array), sampled: false });
    const unknown = await server.api('POST', '/v1/mandates/no-such-jti/revoke', {});
    expect(unknown.status).toBe(404);
    expect(await readJson(unknown)).toMatchObject({ code: 'ERR_MANDATE_NOT_FOUND' });
  });
});

describe.each(await dialects())('the console sessions repository on %s', (dialect) => {
  it('counts decisions per minute in the window, allowed and refused by code', async () => {
    const { store, cleanup } = await openTestStore(dialect);
    try {
      const decision = (type: string, decision: 'allow' | 'deny', code?: string): EventDraft => ({
        id: crypto.randomUUID(),
        time: '2026-01-01T00:00:00.000Z',
        chain: 'instance:i1',
        type,
        actor: { instance: 'i1', agent: 'worker', person: 'alice@example.com', delegation: [] },
        decision,
        status: decision === 'allow' ? 'success' : 'failure',
        ...(code ? { denial_reason: code } : {}),
      });
      const at = async (iso: string, drafts: EventDraft[]) => {
        const writer = new StoreAuditWriter(store, { now: () => new Date(iso) });
        for (const draft of drafts) await writer.append(draft);
        await writer.close();
      };
      await at('2026-01-01T10:00:30.000Z', [decision('tool.decision', 'allow'), decision('tool.decision', 'deny', 'ERR_SCOPE_NOT_GRANTED')]);
      await at('2026-01-01T10:05:10.000Z', [decision('tool.decision', 'allow'), decision('http.decision', 'allow'), decision('tool.decision', 'deny', 'ERR_POLICY_DENIED'), decision('tool.result', 'allow')]);
      await at('2026-01-01T10:06:10.000Z', [decision('tool.decision', 'deny', 'ERR_POLICY_DENIED')]);
      expect(await decisionsPerMinute(store.db, '2026-01-01T10:03:00.000Z')).toEqual({
        minutes: [
          { minute: '2026-01-01T10:05', allowed: 2, refused: { ERR_POLICY_DENIED: 1 } },
          { minute: '2026-01-01T10:06', allowed: 0, refused: { ERR_POLICY_DENIED: 1 } },
        ],
        sampled: false,
      });
      expect(await decisionsPerMinute(store.db, '2026-01-01T11:00:00.000Z')).toEqual({ minutes: [], sampled: false });
    } finally {
      await cleanup();
    }
  });

  it('finds a session by hash, removes it once, and purges expired ones with the tokens they own', async () => {
    const { store, cleanup } = await openTestStore(dialect);
    try {
      const sessions = consoleSessionsRepository(store.db);
      const row = (id: string, expires: string, owns: number) => ({ id_hash: id.repeat(64), token_id: `tok${id}`, csrf_token: 'c'.repeat(43), owns_token: owns, created_at: '2026-01-01T00:00:00.000Z', expires_at: expires });
      await sessions.insert(row('a', '2026-01-01T01:00:00.000Z', 1));
      await sessions.insert(row('b', '2026-01-01T01:00:00.000Z', 0));
      await sessions.insert(row('c', '2027-01-01T00:00:00.000Z', 1));
      expect(await sessions.find('c'.repeat(64))).toMatchObject({ token_id: 'tokc', owns_token: 1 });
      expect(await sessions.remove('c'.repeat(64))).toMatchObject({ token_id: 'tokc' });
      expect(await sessions.remove('c'.repeat(64))).toBeUndefined();
      expect(await sessions.purge(new Date('2026-06-01T00:00:00Z'))).toEqual(['toka']);
      expect(await sessions.find('b'.repeat(64))).toBeUndefined();
    } finally {
      await cleanup();
    }
  });
});

describe.each(await dialects())('console single sign-on on %s', (dialect) => {
  let server: TestServer;
  let idp: TestProvider;
  beforeAll(async () => {
    const address = await providerAddress();
    server = await startTestServer(dialect, {
      config: { ssoIssuer: address.issuer, ssoClientId: MANDATE_CLIENT.client_id, ssoClientSecret: MANDATE_CLIENT.client_secret, ssoRoleMap: 'console-admins=admin' },
    });
    idp = startTestProvider(address, { sam: { email: 'sam@example.com', name: 'Sam', groups: ['console-admins'] } }, [`${server.url}/v1/login/callback`], { deviceFlow: false });
  });
  afterAll(async () => {
    await server?.close();
    await idp?.close();
  });

  /** Someone signs in at the provider from /v1/console/login; the callback URL the provider sends them to. */
  const finishedLogin = () => signInAtProvider(`${server.url}/v1/console/login`, 'sam', `${server.url}/v1/login/callback`);
  const binding = (callback: URL) => `mandate_console_login=${crypto.createHash('sha256').update(callback.searchParams.get('state')!).digest('hex')}`;

  it('ends in a session cookie in the browser that started it, never a token in the URL', async () => {
    const start = await fetch(`${server.url}/v1/console/login`, { redirect: 'manual' });
    expect(start.status).toBe(303);
    expect(start.headers.get('set-cookie')).toMatch(/^mandate_console_login=[0-9a-f]{64}; Path=\/v1\/login\/callback; HttpOnly; SameSite=Lax; Max-Age=600$/);
    const callback = await finishedLogin();
    const res = await fetch(callback, { redirect: 'manual', headers: { cookie: binding(callback) } });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/console/');
    const cookies = res.headers.getSetCookie();
    expect(cookies.some((c) => c.startsWith('mandate_console_login=; '))).toBe(true);
    const session = cookies.find((c) => c.startsWith('mandate_session='))!;
    expect(session).toMatch(/HttpOnly; SameSite=Strict/);
    const me = await readJson(await fetch(`${server.url}/v1/console/session`, { headers: { cookie: session.split(';')[0]! } }));
    expect(me).toMatchObject({ operator: 'sam', roles: ['admin'] });
    expect(server.audit.events.some((e) => e.type === 'admin.login_succeeded' && e.actor.person === 'sam')).toBe(true);
  });

  it("refuses someone else's finished login sent as a link (login CSRF)", async () => {
    const callback = await finishedLogin();
    const before = server.audit.events.length;
    const res = await fetch(callback, { redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/console/?error=ERR_LOGIN_STATE_INVALID');
    expect(res.headers.getSetCookie().some((c) => c.startsWith('mandate_session='))).toBe(false);
    expect(server.audit.events.slice(before)).toContainEqual(expect.objectContaining({ type: 'admin.login_refused', denial_reason: 'ERR_LOGIN_STATE_INVALID' }));
  });
});
