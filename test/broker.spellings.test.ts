import { toOcsf } from '../src/audit/export/ocsf.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentRuntime, Mandate } from '../src/sdk/runtime.ts';
import { CODE_HASH, bootstrap, personToken, register } from './fixtures.ts';
import { readJson, startTestServer, type TestServer } from './harness.ts';
import { rawRequest, startUpstream } from './broker.peers.ts';

/**
 * One path, many spellings: a policy forbids the subtree under /admin, and no spelling that an
 * upstream server would fold into /admin reaches the real upstream on loopback, which records
 * every request it receives.
 */
const FORBID_ADMIN = {
  file: 'no-admin.cedar',
  text: `@id("no-admin-subtree")
forbid (principal, action == Mandate::Action::"http:request", resource)
when { resource.pathPrefixes.contains("/admin") };
`,
};

const spellBot = {
  id: 'spell-bot',
  name: 'Spelling bot',
  owner: 'alice@example.com',
  environment: 'dev',
  roles: ['operator'],
  code_hashes: [CODE_HASH],
  toolset: ['http:guarded:*:/**', 'http:folded:*:/**'],
};

describe('the broker decides on one canonical path, whatever the spelling', () => {
  let server: TestServer;
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let runtime: AgentRuntime;
  let mandate: Mandate;

  const call = (target: string) =>
    rawRequest(Number(new URL(server.url).port), 'GET', target, {
      authorization: `DPoP ${mandate.token}`,
      dpop: runtime.proof('GET', `${server.url}${target.split('?')[0]}`, mandate.token),
    });
  const errorOf = (body: string) => {
    try {
      return (JSON.parse(body) as { error?: string }).error ?? null;
    } catch {
      return null;
    }
  };
  /** What reached the upstream under /admin, in any spelling a server might fold to it. */
  const adminReached = () =>
    upstream.received.filter((r) => /^\/api\/admin(\/|$)/i.test(decodeURIComponent(decodeURIComponent(r.url.split('?')[0]!))));

  beforeAll(async () => {
    server = await startTestServer('sqlite');
    upstream = await startUpstream('unused-secret-value');
    await register(server, spellBot);
    for (const spec of [
      { name: 'guarded', base_url: `${upstream.url}/api`, allow: ['GET /**'] },
      { name: 'folded', base_url: `${upstream.url}/api`, allow: ['GET /**'], path_case: 'insensitive' },
    ]) {
      const res = await server.api('POST', '/v1/connections', spec);
      if (res.status !== 201) throw new Error(`connection failed: ${res.status} ${await res.text()}`);
    }
    const running = await readJson(await server.api('GET', '/v1/policies?files=true'));
    const applied = await server.api('PUT', '/v1/policies', { files: [...running.files, FORBID_ADMIN] });
    if (applied.status !== 200) throw new Error(`policy apply failed: ${await applied.text()}`);
    runtime = await bootstrap(server, 'spell-bot', { environment: 'dev' });
    mandate = await runtime.obtainMandate({ subjectToken: await personToken(server, 'alice@example.com'), scope: spellBot.toolset.join(' '), resource: `${server.url}/broker` });
  });

  afterAll(async () => {
    await upstream?.close();
    await server?.close();
  });

  it('lets a policy forbid a whole subtree, and reaches the paths beside it', async () => {
    const before = upstream.received.length;
    for (const path of ['/admin', '/admin/users', '/admin/users/7/keys']) {
      const res = await call(`/broker/guarded${path}`);
      expect({ path, status: res.status, error: errorOf(res.body) }).toEqual({ path, status: 403, error: 'ERR_POLICY_DENIED' });
    }
    for (const path of ['/administrator', '/public/admin', '/']) expect((await call(`/broker/guarded${path}`)).status).toBe(200);
    expect(upstream.received.slice(before).map((r) => r.url)).toEqual(['/api/administrator', '/api/public/admin', '/api/']);
    const denied = server.audit.events.filter((e) => e.type === 'http.decision' && e.decision === 'deny' && (e.resource ?? '').startsWith('guarded GET /admin'));
    expect(denied.length).toBe(3);
  });

  it('never reaches a forbidden path by any spelling: each is canonicalized and denied, or refused with its code', async () => {
    const before = upstream.received.length;
    const cases: Array<[string, number, string | null]> = [
      // Canonicalized, then denied by the policy.
      ['/guarded/admin/users/', 403, 'ERR_POLICY_DENIED'],
      ['/guarded/admin/', 403, 'ERR_POLICY_DENIED'],
      ['/guarded/%61dmin/users', 403, 'ERR_POLICY_DENIED'],
      ['/guarded/%61%64%6d%69%6E/users', 403, 'ERR_POLICY_DENIED'],
      ['/folded/Admin/users', 403, 'ERR_POLICY_DENIED'],
      ['/folded/ADMIN/Users/', 403, 'ERR_POLICY_DENIED'],
      ['/folded/%41dmin/users', 403, 'ERR_POLICY_DENIED'],
      // Refused before any decision.
      ['/guarded/admin;x/users', 400, 'ERR_BROKER_PATH_MATRIX_PARAMS'],
      ['/guarded/admin;/users', 400, 'ERR_BROKER_PATH_MATRIX_PARAMS'],
      ['/guarded/admin%3Bjsessionid=1/users', 400, 'ERR_BROKER_PATH_MATRIX_PARAMS'],
      ['/guarded/public/../admin/users', 400, 'ERR_BROKER_PATH_TRAVERSAL'],
      ['/guarded/./admin/users', 400, 'ERR_BROKER_PATH_TRAVERSAL'],
      ['/guarded/public/%2e%2e/admin', 400, 'ERR_BROKER_PATH_TRAVERSAL'],
      ['/guarded/public/..;/admin', 400, 'ERR_BROKER_PATH_TRAVERSAL'],
      ['/guarded/public%2F..%2Fadmin', 400, 'ERR_BROKER_PATH_ENCODED_SEPARATOR'],
      ['/guarded/public%5c..%5cadmin', 400, 'ERR_BROKER_PATH_ENCODED_SEPARATOR'],
      ['/guarded/public/%252e%252e/admin', 400, 'ERR_BROKER_PATH_DOUBLE_ENCODED'],
      ['/guarded/admin%252Fusers', 400, 'ERR_BROKER_PATH_DOUBLE_ENCODED'],
      ['/guarded//admin/users', 400, 'ERR_BROKER_PATH_INVALID'],
      ['/guarded/public//admin', 400, 'ERR_BROKER_PATH_INVALID'],
    ];
    for (const [target, status, error] of cases) {
      const res = await call(`/broker${target}`);
      expect({ target, status: res.status, error: errorOf(res.body) }).toEqual({ target, status, error });
    }
    // A raw backslash is refused: by the HTTP parser, or by the broker with its code.
    const backslash = await call('/broker/guarded/public\\..\\admin');
    expect(backslash.status).toBe(400);
    expect([null, 'ERR_BROKER_PATH_ENCODED_SEPARATOR']).toContain(errorOf(backslash.body));
    expect(upstream.received.length).toBe(before);
    expect(adminReached()).toEqual([]);
    const refusals = server.audit.events.filter((e) => e.denial_reason === 'ERR_BROKER_PATH_MATRIX_PARAMS' || e.denial_reason === 'ERR_BROKER_PATH_DOUBLE_ENCODED');
    expect(refusals.length).toBe(5);
  });

  it('forwards the canonical path: one spelling for the upstream, lower case where the connection says case does not matter', async () => {
    const before = upstream.received.length;
    expect((await call('/broker/guarded/%7euser/A%2dB%3a/')).status).toBe(200);
    expect((await call('/broker/folded/Public/%C3%89T%C3%89?Q=1')).status).toBe(200);
    // A case-sensitive upstream tells /Admin from /admin: it is another resource there, and passes.
    expect((await call('/broker/guarded/Admin')).status).toBe(200);
    expect(upstream.received.slice(before).map((r) => r.url)).toEqual(['/api/~user/A-B:/', '/api/public/%C3%A9t%C3%A9?Q=1', '/api/Admin']);
    const decided = server.audit.events.filter((e) => e.type === 'http.decision').slice(-3).map((e) => e.resource);
    expect(decided).toEqual(['guarded GET /~user/A-B:', 'folded GET /public/%C3%A9t%C3%A9', 'guarded GET /Admin']);
  });

  it('records the method on every broker event, so the OCSF export gives each its activity', async () => {
    const port = Number(new URL(server.url).port);
    const send = (method: string, target: string) =>
      rawRequest(port, method, target, { authorization: `DPoP ${mandate.token}`, dpop: runtime.proof(method, `${server.url}${target}`, mandate.token) });
    const from = server.audit.events.length;
    expect((await call('/broker/guarded/reports')).status).toBe(200);
    expect((await send('DELETE', '/broker/guarded/reports/1')).status).toBe(403);
    expect((await send('POST', '/broker/guarded/a;b')).status).toBe(400);
    const events = server.audit.events.slice(from).filter((e) => e.type.startsWith('http.'));
    const exported = events.map((e) => toOcsf(e, { productVersion: 'test' }));
    expect(exported.map((o) => [o.activity_id, (o.http_request as { http_method?: string }).http_method])).toEqual([
      [2, 'GET'],
      [2, 'GET'],
      [4, 'DELETE'],
      [1, 'POST'],
    ]);
    expect(events.map((e) => e.data?.method)).toEqual(['GET', 'GET', 'DELETE', 'POST']);
  });

  it('refuses connection names and path segments not in their canonical form, forwarding nothing', async () => {
    const before = upstream.received.length;
    const cases: Array<[string, string]> = [
      ['/broker/guarded%00/public', 'ERR_IDENTIFIER_NOT_CANONICAL'],
      ['/broker/%20guarded/public', 'ERR_IDENTIFIER_NOT_CANONICAL'],
      ['/broker/guarded%E2%80%8B/public', 'ERR_IDENTIFIER_NOT_CANONICAL'],
      ['/broker/guarded/admin%20', 'ERR_BROKER_PATH_INVALID'],
      ['/broker/guarded/%E2%80%8Badmin', 'ERR_BROKER_PATH_INVALID'],
      ['/broker/guarded/admin%E2%80%AE', 'ERR_BROKER_PATH_INVALID'],
      ['/broker/guarded/cafe%CC%81', 'ERR_BROKER_PATH_INVALID'],
      ['/broker/guarded/a%0Ab', 'ERR_BROKER_PATH_INVALID'],
    ];
    for (const [target, error] of cases) {
      const res = await call(target);
      expect({ target, status: res.status, error: errorOf(res.body) }).toEqual({ target, status: 400, error });
    }
    expect(upstream.received.length).toBe(before);
  });

  it('refuses an unknown path_case setting when the connection is added', async () => {
    const res = await server.api('POST', '/v1/connections', { name: 'odd', base_url: `${upstream.url}/api`, allow: ['GET /**'], path_case: 'folded' });
    expect(res.status).toBe(400);
  });
});
