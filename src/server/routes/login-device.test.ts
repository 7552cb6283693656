import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects, readJson, startTestServer, type TestServer } from '../../../test/harness.ts';
import { approveDevice, MANDATE_CLIENT, providerAddress, startTestProvider, type TestProvider } from '../../../test/oidc-provider.ts';

/**
 * Operator sign-in with the device authorization grant (RFC 8628) against a real OpenID provider
 * on loopback: Mandate starts the device login, the person confirms the code and signs in at the
 * provider, and Mandate's poll answers the session. Every refusal names its code and grants nothing.
 */
const ACCOUNTS = {
  ada: { email: 'ada@example.com', name: 'Ada Approver', groups: ['mandate-approvers'] },
  bob: { email: 'bob@example.com', name: 'Bob Bystander', groups: ['staff'] },
  dan: { email: 'dan@example.com', name: 'Dan Denier', groups: ['mandate-approvers'] },
  eve: { email: 'eve@example.com', name: 'Eve Late', groups: ['mandate-approvers'] },
};
const SSO = { ssoClientId: MANDATE_CLIENT.client_id, ssoClientSecret: MANDATE_CLIENT.client_secret, ssoRoleMap: 'mandate-approvers=approver:prod' };

interface Started {
  handle: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  interval: number;
  expires_in: number;
}

describe.each(await dialects())('operator device login (%s)', (dialect) => {
  let idp: TestProvider;
  let server: TestServer;
  let clockOffset = 0;

  beforeAll(async () => {
    const address = await providerAddress();
    server = await startTestServer(dialect, { now: () => new Date(Date.now() + clockOffset), config: { ssoIssuer: address.issuer, ...SSO } });
    idp = startTestProvider(address, ACCOUNTS, [`${server.url}/v1/login/callback`]);
  });
  afterAll(async () => {
    await server?.close();
    await idp?.close();
  });

  async function start(): Promise<Started> {
    const response = await fetch(`${server.url}/v1/login/device`, { method: 'POST' });
    expect(response.status).toBe(200);
    return readJson(response);
  }
  const poll = (handle: string) => fetch(`${server.url}/v1/login/device/poll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ handle }) });

  async function nothingGranted(subject: string) {
    const operators = await readJson(await server.api('GET', '/v1/operators'));
    expect(operators.operators.map((o: { subject: string }) => o.subject)).not.toContain(subject);
    const tokens = await readJson(await server.api('GET', '/v1/tokens'));
    expect(tokens.tokens.filter((t: { operator: string | null }) => t.operator === subject)).toEqual([]);
  }
  const refusals = () => server.audit.events.filter((e) => e.type === 'admin.login_refused');

  it('signs an approver in: pending until the person confirms at the provider, then a working session, once', async () => {
    const started = await start();
    expect(started.user_code).toMatch(/\w{4}/);
    expect(new URL(started.verification_uri).origin).toBe(idp.issuer);
    expect(started.verification_uri_complete).toContain('user_code=');
    expect(started.interval).toBeGreaterThan(0);
    expect(started.handle).toMatch(/^[\w-]{43}$/);

    const pending = await poll(started.handle);
    expect(pending.status).toBe(202);
    expect(await readJson(pending)).toEqual({ status: 'authorization_pending', interval: started.interval });

    expect(await approveDevice(started.verification_uri_complete, 'ada')).toContain('Sign-in Success');
    const done = await poll(started.handle);
    expect(done.status).toBe(200);
    const session = await readJson(done);
    expect(session).toMatchObject({ operator: 'ada', email: 'ada@example.com', roles: ['approver:prod'] });

    const as = { authorization: `Bearer ${session.token}` };
    expect((await server.api('GET', '/v1/approvals', undefined, as)).status).toBe(200);
    expect((await readJson(await server.api('PUT', '/v1/policies', { policies: {} }, as))).code).toBe('ERR_FORBIDDEN');
    expect(server.audit.events.find((e) => e.type === 'admin.login_succeeded' && e.action === 'POST /v1/login/device/poll')).toMatchObject({ chain: 'system', actor: { person: 'ada', token: session.id } });
    expect(JSON.stringify(server.audit.events)).not.toContain(session.token);

    const again = await poll(started.handle);
    expect(again.status).toBe(400);
    expect((await readJson(again)).code).toBe('ERR_LOGIN_STATE_INVALID');
  });

  it('refuses a login the person aborted at the provider, and grants nothing', async () => {
    const before = refusals().length;
    const started = await start();
    await approveDevice(started.verification_uri_complete, 'dan', 'abort');
    const response = await poll(started.handle);
    expect(response.status).toBe(401);
    expect(await readJson(response)).toMatchObject({ code: 'ERR_LOGIN_FAILED' });
    await nothingGranted('dan');
    expect(refusals().slice(before)).toMatchObject([{ status: 'failure', denial_reason: 'ERR_LOGIN_FAILED', action: 'POST /v1/login/device/poll' }]);
  });

  it('refuses an expired device code, even one the person approved, and grants nothing', async () => {
    const started = await start();
    await approveDevice(started.verification_uri_complete, 'eve');
    clockOffset = (started.expires_in + 1) * 1000;
    try {
      const response = await poll(started.handle);
      expect(response.status).toBe(400);
      expect((await readJson(response)).code).toBe('ERR_DEVICE_CODE_EXPIRED');
    } finally {
      clockOffset = 0;
    }
    await nothingGranted('eve');
  });

  it('refuses an account in no mapped group with ERR_LOGIN_NO_ROLE', async () => {
    const started = await start();
    await approveDevice(started.verification_uri_complete, 'bob');
    const response = await poll(started.handle);
    expect(response.status).toBe(403);
    expect((await readJson(response)).code).toBe('ERR_LOGIN_NO_ROLE');
    await nothingGranted('bob');
  });

  it('answers ERR_IDP_UNAVAILABLE while the provider is down, and keeps the login for the next poll', async () => {
    const started = await start();
    await approveDevice(started.verification_uri_complete, 'ada');
    idp.failNextToken();
    const down = await poll(started.handle);
    expect(down.status).toBe(503);
    expect((await readJson(down)).code).toBe('ERR_IDP_UNAVAILABLE');
    const back = await poll(started.handle);
    expect(back.status).toBe(200);
    expect(await readJson(back)).toMatchObject({ operator: 'ada' });
  });

  it('refuses an unknown handle, and a poll handle used as a callback state', async () => {
    const unknown = await poll('forged-handle-0123456789');
    expect(unknown.status).toBe(400);
    expect((await readJson(unknown)).code).toBe('ERR_LOGIN_STATE_INVALID');
    const started = await start();
    const callback = await fetch(`${server.url}/v1/login/callback?state=${started.handle}&code=abc`);
    expect((await readJson(callback)).code).toBe('ERR_LOGIN_STATE_INVALID');
  });
});

describe('device login where the provider offers none, and the login rate limit (sqlite)', () => {
  let idp: TestProvider;
  let server: TestServer;

  beforeAll(async () => {
    const address = await providerAddress();
    server = await startTestServer('sqlite', { config: { ssoIssuer: address.issuer, ...SSO, loginRateLimit: 3 } });
    idp = startTestProvider(address, ACCOUNTS, [`${server.url}/v1/login/callback`], { deviceFlow: false });
  });
  afterAll(async () => {
    await server?.close();
    await idp?.close();
  });

  it('answers ERR_DEVICE_FLOW_UNSUPPORTED when discovery names no device endpoint, then holds the address back with 429', async () => {
    const response = await fetch(`${server.url}/v1/login/device`, { method: 'POST' });
    expect(response.status).toBe(400);
    expect((await readJson(response)).code).toBe('ERR_DEVICE_FLOW_UNSUPPORTED');

    expect((await fetch(`${server.url}/v1/login`, { redirect: 'manual' })).status).toBe(303);
    const poll = await fetch(`${server.url}/v1/login/device/poll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"handle":"x"}' });
    expect((await readJson(poll)).code).toBe('ERR_LOGIN_STATE_INVALID');

    for (const request of [() => fetch(`${server.url}/v1/login`, { redirect: 'manual' }), () => fetch(`${server.url}/v1/login/device`, { method: 'POST' })]) {
      const limited = await request();
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await readJson(limited)).code).toBe('ERR_LOGIN_RATE_LIMITED');
    }
    expect((await readJson(await server.api('GET', '/v1/tokens'))).tokens.filter((t: { operator: string | null }) => t.operator)).toEqual([]);
  });
});
