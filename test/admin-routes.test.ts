import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGrant } from '../src/people/roles.ts';
import { ADMIN_ROUTES, type AdminRoute } from '../src/server/admin-routes.ts';
import { createAdminToken } from '../src/server/admin-tokens.ts';
import { CODE_HASH, bootstrap } from './fixtures.ts';
import { addEverything, agentSession, closeSessions, operatorCard, refusalMeta } from './governance.kit.ts';
import { dialects, readJson, startTestServer, type TestServer } from './harness.ts';

/** Every role, and roles scoped to an environment. */
const ROLES = ['admin', 'security', 'approver', 'auditor', 'owner', 'admin:prod', 'security:prod', 'approver:prod', 'auditor:prod'];
const LONG = 'trigger-long-running-operation';
/** A concrete path for a route pattern: every parameter gets a name that exists nowhere. */
const pathOf = (url: string) => url.replace(/:([a-z]+)/g, (_m, name: string) => (name === 'id' && url.startsWith('/v1/approvals') ? 'apr_0000000000000000' : `no-such-${name}`));

/**
 * Whether a grant gets past the guard of a route. A grant scoped to an environment, and an owner's,
 * reach only routes about one agent (or approval) or ones whose handler narrows to what they may
 * see; an agent or approval that does not exist is the handler's 404 for them.
 */
const passes = (rule: AdminRoute, grantText: string) => {
  const grant = parseGrant(grantText)!;
  if (rule.roles === 'public' || !rule.roles.includes(grant.role)) return false;
  return rule.target !== undefined || (grant.environment === undefined && grant.role !== 'owner');
};

describe.each(await dialects())('admin routes: roles and the trail, from one table, on %s', (dialect) => {
  let server: TestServer;
  const tokens: Record<string, string> = {};
  const as = (role: string) => ({ authorization: `Bearer ${tokens[role]}` });

  beforeAll(async () => {
    server = await startTestServer(dialect);
    for (const role of ROLES) tokens[role] = (await createAdminToken(server.ctx.store.db, { name: `${role}@example.com`, grants: [parseGrant(role)!], now: new Date() })).token;
  });
  afterAll(async () => {
    await closeSessions();
    await server.close();
  });

  it('declares every registered /v1 route, and only those', () => {
    const registered = new Set(server.app.registeredRoutes.filter((r) => r.url.startsWith('/v1/') && r.method !== 'HEAD').map((r) => `${r.method} ${r.url}`));
    expect([...registered].filter((route) => !(route in ADMIN_ROUTES))).toEqual([]);
    expect(Object.keys(ADMIN_ROUTES).filter((route) => !registered.has(route))).toEqual([]);
  });

  it('gives every mutating route that is not public an event in the trail', () => {
    const silent = Object.entries(ADMIN_ROUTES).filter(([route, rule]) => !route.startsWith('GET ') && rule.roles !== 'public' && !rule.event && !rule.unaudited && !rule.roles.includes('auditor'));
    expect(silent.map(([route]) => route)).toEqual([]);
  });

  // Every route against every role: allowed ones get past the guard (whatever the handler then
  // says of the made-up names), refused ones get 403 ERR_FORBIDDEN and an audited refusal.
  it.each(Object.entries(ADMIN_ROUTES).filter(([, rule]) => rule.roles !== 'public'))('%s: only its roles get through', async (route) => {
    const [method, url] = route.split(' ') as [string, string];
    const rule = ADMIN_ROUTES[route]!;
    for (const role of ROLES) {
      const before = server.audit.events.length;
      const res = await server.api(method, pathOf(url), method === 'GET' || method === 'DELETE' ? undefined : {}, as(role));
      const body = res.status === 403 ? await readJson(res) : undefined;
      if (passes(rule, role)) {
        expect(body?.code, `${role} ${route}`).not.toBe('ERR_FORBIDDEN');
      } else {
        expect(res.status, `${role} ${route}`).toBe(403);
        expect(body).toMatchObject({ code: 'ERR_FORBIDDEN' });
        expect(server.audit.events.slice(before)).toEqual([
          expect.objectContaining({ chain: 'system', type: 'admin.access_refused', status: 'failure', denial_reason: 'ERR_FORBIDDEN', actor: expect.objectContaining({ person: `${role}@example.com` }), action: route }),
        ]);
      }
    }
    const anonymous = await server.api(method, pathOf(url), undefined, { authorization: 'Bearer mdt_not-a-token' });
    expect(anonymous.status).toBe(401);
  });

  it('walks every mutating route and finds its event, with the operator as actor and no secret value', async () => {
    const seen = new Set<string>();
    const expectEvent = async (method: string, path: string, body: unknown, route: string, expectStatus?: number) => {
      const before = server.audit.events.length;
      const res = await server.api(method, path, body);
      if (expectStatus !== undefined) expect(res.status, `${route}: ${await res.clone().text()}`).toBe(expectStatus);
      else expect(res.status, `${route}: ${await res.clone().text()}`).toBeLessThan(300);
      const type = ADMIN_ROUTES[route]!.event!.type;
      expect(server.audit.events.slice(before).filter((e) => e.type === type && e.chain === 'system'), route).toHaveLength(1);
      seen.add(route);
      return res;
    };
    const card = { id: 'walker', name: 'Walker', owner: 'alice@example.com', code_hashes: [CODE_HASH], toolset: ['tool:everything/*'] };
    await expectEvent('POST', '/v1/agents', card, 'POST /v1/agents', 201);
    await expectEvent('PUT', '/v1/agents', [{ ...card, purpose: 'walks the routes' }], 'PUT /v1/agents');
    await expectEvent('POST', '/v1/agents/walker/suspend', {}, 'POST /v1/agents/:id/suspend');
    await expectEvent('POST', '/v1/agents/walker/resume', {}, 'POST /v1/agents/:id/resume');
    await expectEvent('POST', '/v1/agents/walker/join-tokens', {}, 'POST /v1/agents/:id/join-tokens', 201);
    await expectEvent('POST', '/v1/users/token', { subject: 'alice@example.com' }, 'POST /v1/users/token');
    const runtime = await bootstrap(server, 'walker', { environment: 'dev' });
    await expectEvent('POST', `/v1/instances/${runtime.instanceId}/revoke`, {}, 'POST /v1/instances/:id/revoke');
    await expectEvent('POST', '/v1/keys/rotate', {}, 'POST /v1/keys/rotate');
    const { keys } = await readJson(await server.api('GET', '/.well-known/jwks.json'));
    await expectEvent('POST', `/v1/keys/${keys.at(-1).kid}/revoke`, {}, 'POST /v1/keys/:kid/revoke');
    const running = await readJson(await server.api('GET', '/v1/policies?files=true'));
    await expectEvent('PUT', '/v1/policies', { files: running.files }, 'PUT /v1/policies');
    await expectEvent('POST', '/v1/audit/digest', { value: { any: 'thing' } }, 'POST /v1/audit/digest');

    await expectEvent('PUT', '/v1/secrets/walk_token', { value: 'sk-walk-0123456789abcdef' }, 'PUT /v1/secrets/:name');
    await addEverything(server);
    seen.add('POST /v1/servers');
    expect(server.audit.events.some((e) => e.type === 'admin.server_added' && e.resource === '/v1/servers')).toBe(true);
    await expectEvent('PUT', '/v1/servers/everything', { transport: 'stdio', command: [process.execPath, '--version'] }, 'PUT /v1/servers/:name');
    await expectEvent('DELETE', '/v1/servers/everything', undefined, 'DELETE /v1/servers/:name', 204);
    await expectEvent('POST', '/v1/connections', { name: 'walk', base_url: 'https://api.example.com/', inject: ['header:authorization=Bearer {{secret:walk_token}}'], allow: ['GET /**'] }, 'POST /v1/connections', 201);
    await expectEvent('PUT', '/v1/connections/walk', { base_url: 'https://api.example.com/', inject: ['header:authorization=Bearer {{secret:walk_token}}'], allow: ['GET /v2/**'] }, 'PUT /v1/connections/:name');
    await expectEvent('DELETE', '/v1/connections/walk', undefined, 'DELETE /v1/connections/:name', 204);
    const peer = { url: 'https://agents.example.com/a2a', card: { name: 'Walker' }, agent: 'walker' };
    await expectEvent('POST', '/v1/peers', { name: 'walk', ...peer }, 'POST /v1/peers', 201);
    await expectEvent('PUT', '/v1/peers/walk', { ...peer, timeout_ms: 5000 }, 'PUT /v1/peers/:name');
    await expectEvent('DELETE', '/v1/peers/walk', undefined, 'DELETE /v1/peers/:name', 204);
    await expectEvent('DELETE', '/v1/secrets/walk_token', undefined, 'DELETE /v1/secrets/:name', 204);
    await expectEvent('POST', '/v1/broker/sweep', {}, 'POST /v1/broker/sweep');

    const sink = { name: 'walk-hook', url: 'https://hooks.example.com/walk', key: 'whsec-walk-0123456789abcdef' };
    await expectEvent('POST', '/v1/sinks', sink, 'POST /v1/sinks', 201);
    await expectEvent('POST', '/v1/sinks/walk-hook/pause', {}, 'POST /v1/sinks/:name/pause');
    await expectEvent('POST', '/v1/sinks/walk-hook/resume', {}, 'POST /v1/sinks/:name/resume');
    await expectEvent('DELETE', '/v1/sinks/walk-hook', undefined, 'DELETE /v1/sinks/:name', 204);
    const trailSink = { name: 'walk-siem', kind: 'splunk-hec', settings: { url: 'https://splunk.example.com:8088' }, secret: 'hec-walk-0123456789abcdef' };
    await expectEvent('POST', '/v1/trail/sinks', trailSink, 'POST /v1/trail/sinks', 201);
    await expectEvent('POST', '/v1/trail/sinks/walk-siem/pause', {}, 'POST /v1/trail/sinks/:name/pause');
    await expectEvent('POST', '/v1/trail/sinks/walk-siem/resume', {}, 'POST /v1/trail/sinks/:name/resume');
    await expectEvent('DELETE', '/v1/trail/sinks/walk-siem', undefined, 'DELETE /v1/trail/sinks/:name', 204);

    const jwk = { kty: 'OKP', crv: 'Ed25519', x: Buffer.alloc(32, 7).toString('base64url'), kid: 'walk-1' };
    await expectEvent('POST', '/v1/issuers', { issuer: 'https://idp.walk.example', jwks: { keys: [jwk] } }, 'POST /v1/issuers', 201);
    await expectEvent('DELETE', `/v1/issuers/${encodeURIComponent('https://idp.walk.example')}`, undefined, 'DELETE /v1/issuers/:issuer', 204);

    // A held call, approved and denied by an approver.
    await addEverything(server, { [LONG]: { high_impact: true } });
    const agent = await agentSession(server, operatorCard('deployer', [LONG]));
    for (const [action, route] of [['approve', 'POST /v1/approvals/:id/approve'], ['deny', 'POST /v1/approvals/:id/deny']] as const) {
      const held = refusalMeta(await agent.call(LONG, { duration: 0.1, steps: 1, note: action }))!.approval!;
      const before = server.audit.events.length;
      const res = await server.api('POST', `/v1/approvals/${held.id}/${action}`, {}, as('approver'));
      expect(res.status, await res.clone().text()).toBe(200);
      expect(server.audit.events.slice(before).filter((e) => e.type === ADMIN_ROUTES[route]!.event!.type && e.actor.person === 'approver@example.com')).toHaveLength(1);
      seen.add(route);
    }
    const { mandates } = await readJson(await server.api('GET', '/v1/mandates'));
    await expectEvent('POST', `/v1/mandates/${mandates.at(-1).jti}/revoke`, {}, 'POST /v1/mandates/:id/revoke');
    await expectEvent('POST', '/v1/agents/walker/retire', {}, 'POST /v1/agents/:id/retire');

    await expectEvent('POST', '/v1/operators', { subject: 'dana', email: 'dana@example.com', name: 'Dana', roles: ['approver:prod'] }, 'POST /v1/operators', 201);
    const created = await readJson(await expectEvent('POST', '/v1/tokens', { for: 'dana', ttl: '1h' }, 'POST /v1/tokens', 201));
    await expectEvent('DELETE', `/v1/tokens/${created.id}`, undefined, 'DELETE /v1/tokens/:id', 200);
    await expectEvent('DELETE', '/v1/operators/dana', undefined, 'DELETE /v1/operators/:subject', 200);
    // An operator's change names the operator, not the token.
    await server.api('POST', '/v1/operators', { subject: 'erin', email: 'erin@example.com', name: 'Erin', roles: ['admin'] });
    const erin = await readJson(await server.api('POST', '/v1/tokens', { for: 'erin', ttl: '1h', name: 'erin laptop' }));
    const before = server.audit.events.length;
    expect((await server.api('POST', '/v1/keys/rotate', {}, { authorization: `Bearer ${erin.token}` })).status).toBe(200);
    expect(server.audit.events.slice(before).find((e) => e.type === 'admin.key_rotated')?.actor).toMatchObject({ person: 'erin', token: erin.id });

    await expectEvent('PUT', '/v1/entitlements/finance', { items: ['tool:everything/echo'] }, 'PUT /v1/entitlements/:group');
    await expectEvent('DELETE', '/v1/entitlements/finance', undefined, 'DELETE /v1/entitlements/:group', 204);
    await expectEvent('PUT', '/v1/entitlements', { entitlements: [] }, 'PUT /v1/entitlements');

    const scim = await readJson(await expectEvent('POST', '/v1/scim/token', {}, 'POST /v1/scim/token', 201));
    await expectEvent('POST', '/v1/persons/erin/offboard', {}, 'POST /v1/persons/:id/offboard');
    await expectEvent('POST', '/v1/lifecycle/reap', { dry_run: true }, 'POST /v1/lifecycle/reap');
    expect(JSON.stringify(server.audit.events)).not.toContain(scim.token);
    // Access reviews over the agents left (the deployer above): certify in one campaign, trim in another.
    const first = await readJson(await expectEvent('POST', '/v1/reviews', { environment: 'dev' }, 'POST /v1/reviews', 201));
    await expectEvent('POST', `/v1/reviews/${first.id}/items/deployer/certify`, {}, 'POST /v1/reviews/:campaign/items/:id/certify');
    await expectEvent('POST', `/v1/reviews/${first.id}/close`, {}, 'POST /v1/reviews/:id/close');
    const second = await readJson(await server.api('POST', '/v1/reviews', { environment: 'dev' }));
    await expectEvent('POST', `/v1/reviews/${second.id}/remind`, {}, 'POST /v1/reviews/:id/remind');
    await expectEvent('POST', `/v1/reviews/${second.id}/items/deployer/trim`, { toolset: [`tool:everything/${LONG}`] }, 'POST /v1/reviews/:campaign/items/:id/trim');

    // Discovery: findings reported by the CLI's config scan, the server's scanners, a claim and a dismissal.
    const draft = (key: string) => ({ scanner: 'mcp-config', kind: 'mcp-server', severity: 'low', source: '/repo/.mcp.json', title: `server ${key}`, key: key.repeat(64), detail: { server: key } });
    const reported = await readJson(await expectEvent('POST', '/v1/findings', { findings: [draft('a'), draft('b')] }, 'POST /v1/findings'));
    await expectEvent('POST', '/v1/findings/scan', { scanners: ['refused-client'] }, 'POST /v1/findings/scan');
    await expectEvent('POST', `/v1/findings/${reported.findings[0].id}/claim`, { agent_id: 'found-bot', owner: 'alice@example.com' }, 'POST /v1/findings/:id/claim', 201);
    await expectEvent('POST', `/v1/findings/${reported.findings[1].id}/dismiss`, { reason: 'a fixture' }, 'POST /v1/findings/:id/dismiss');

    // Quarantined tools are approved in the gateway's rug-pull tests (admin.tool_approved there);
    // logins need an OpenID provider: src/server/routes/login.test.ts and login-device.test.ts find admin.login_succeeded;
    // consent needs a consent policy and the person's token: test/consent.test.ts finds approval.granted;
    // console sessions need a cookie: test/console.session.test.ts finds their events.
    const elsewhere = new Set(['POST /v1/servers/:name/tools/:tool/approve', 'GET /v1/login/callback', 'POST /v1/login/device/poll', 'POST /v1/approvals/:id/consent', 'POST /v1/console/session', 'DELETE /v1/console/session']);
    const mutating = Object.entries(ADMIN_ROUTES).filter(([route, rule]) => rule.event && !elsewhere.has(route)).map(([route]) => route);
    expect(mutating.filter((route) => !seen.has(route))).toEqual([]);

    const adminEvents = server.audit.events.filter((e) => e.chain === 'system' && e.type.startsWith('admin.') && e.type !== 'admin.access_refused');
    expect(adminEvents.filter((e) => e.actor.person === null).map((e) => e.type)).toEqual([]);
    expect(JSON.stringify(server.audit.events)).not.toContain('sk-walk-0123456789abcdef');
    expect(JSON.stringify(server.audit.events)).not.toContain('whsec-walk-0123456789abcdef');
    expect(JSON.stringify(server.audit.events)).not.toContain('hec-walk-0123456789abcdef');
    expect(adminEvents.find((e) => e.type === 'admin.agents_applied')?.args_digest).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
  });
});
