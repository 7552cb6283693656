import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects, readJson, startTestServer, type TestServer } from '../../../test/harness.ts';
import { MANDATE_CLIENT, OTHER_CLIENT, providerAddress, signIn, startTestProvider, type TestProvider } from '../../../test/oidc-provider.ts';

/**
 * Operator single sign-on against a real OpenID provider on loopback: Ada is in the approvers
 * group, Bob in none. Every refusal names its code and leaves no operator and no token behind.
 */
const ACCOUNTS = {
  ada: { email: 'ada@example.com', name: 'Ada Approver', groups: ['mandate-approvers', 'staff'] },
  bob: { email: 'bob@example.com', name: 'Bob Bystander', groups: ['staff'] },
  carol: { email: 'carol@example.com', name: 'Carol', groups: ['mandate-approvers'] },
};

describe.each(await dialects())('operator single sign-on (%s)', (dialect) => {
  let idp: TestProvider;
  let server: TestServer;
  let callback: string;
  let clockOffset = 0;

  beforeAll(async () => {
    const address = await providerAddress();
    server = await startTestServer(dialect, {
      now: () => new Date(Date.now() + clockOffset),
      config: {
        ssoIssuer: address.issuer,
        ssoClientId: MANDATE_CLIENT.client_id,
        ssoClientSecret: MANDATE_CLIENT.client_secret,
        ssoRoleMap: 'mandate-approvers=approver:prod,mandate-approvers=auditor',
        ssoSessionTtl: 900,
      },
    });
    callback = `${server.url}/v1/login/callback`;
    idp = startTestProvider(address, ACCOUNTS, [callback]);
  });
  afterAll(async () => {
    await server?.close();
    await idp?.close();
  });

  /** Start a login at Mandate; the provider's authorization URL it redirects to. */
  async function begin(query = ''): Promise<URL> {
    const response = await fetch(`${server.url}/v1/login${query}`, { redirect: 'manual' });
    expect(response.status).toBe(303);
    return new URL(response.headers.get('location')!);
  }

  const finish = (url: URL) => fetch(url, { redirect: 'manual' });

  async function nothingGranted(subject: string) {
    const operators = await readJson(await server.api('GET', '/v1/operators'));
    expect(operators.operators.map((o: { subject: string }) => o.subject)).not.toContain(subject);
    const tokens = await readJson(await server.api('GET', '/v1/tokens'));
    expect(tokens.tokens.filter((t: { operator: string | null }) => t.operator === subject)).toEqual([]);
  }

  const refusedEvents = () => server.audit.events.filter((e) => e.type === 'admin.login_refused');

  it('sends the browser to the provider with the code flow, PKCE, state and nonce', async () => {
    const authorize = await begin();
    expect(authorize.origin).toBe(idp.issuer);
    expect(Object.fromEntries(authorize.searchParams)).toMatchObject({
      client_id: 'mandate',
      response_type: 'code',
      redirect_uri: callback,
      code_challenge_method: 'S256',
    });
    for (const name of ['state', 'nonce', 'code_challenge']) expect(authorize.searchParams.get(name)).toMatch(/^[\w-]{22,}$/);
  });

  it('signs an approver in: the operator comes from the groups, the session is short-lived and can approve but not apply policies', async () => {
    const landed = await signIn((await begin()).href, 'ada', callback);
    const response = await finish(landed);
    expect(response.status).toBe(200);
    const session = await readJson(response);
    expect(session).toMatchObject({ operator: 'ada', email: 'ada@example.com', roles: ['approver:prod', 'auditor'] });
    const lifetime = Date.parse(session.expires_at) - Date.now();
    expect(lifetime).toBeGreaterThan(800_000);
    expect(lifetime).toBeLessThanOrEqual(900_000);

    const operator = await readJson(await server.api('GET', '/v1/operators/ada'));
    expect(operator).toMatchObject({ subject: 'ada', email: 'ada@example.com', name: 'Ada Approver', roles: ['approver:prod', 'auditor'] });

    const as = { authorization: `Bearer ${session.token}` };
    expect((await server.api('GET', '/v1/approvals', undefined, as)).status).toBe(200);
    const apply = await server.api('PUT', '/v1/policies', { policies: {} }, as);
    expect(apply.status).toBe(403);
    expect((await readJson(apply)).code).toBe('ERR_FORBIDDEN');

    const event = server.audit.events.find((e) => e.type === 'admin.login_succeeded');
    expect(event).toMatchObject({ chain: 'system', status: 'success', actor: { person: 'ada', token: session.id } });
    expect(JSON.stringify(server.audit.events)).not.toContain(session.token);
  });

  it('refreshes the operator at the next login and issues a new session', async () => {
    const first = await readJson(await finish(await signIn((await begin()).href, 'ada', callback)));
    const second = await readJson(await finish(await signIn((await begin()).href, 'ada', callback)));
    expect(second.id).not.toBe(first.id);
    const operators = await readJson(await server.api('GET', '/v1/operators'));
    expect(operators.operators.filter((o: { subject: string }) => o.subject === 'ada')).toHaveLength(1);
  });

  it('refuses an account in no mapped group with ERR_LOGIN_NO_ROLE and grants nothing', async () => {
    const before = refusedEvents().length;
    const response = await finish(await signIn((await begin()).href, 'bob', callback));
    expect(response.status).toBe(403);
    expect((await readJson(response)).code).toBe('ERR_LOGIN_NO_ROLE');
    await nothingGranted('bob');
    expect(refusedEvents().slice(before)).toMatchObject([{ chain: 'system', status: 'failure', denial_reason: 'ERR_LOGIN_NO_ROLE' }]);
  });

  it('refuses a replayed state: the second use of a callback grants nothing', async () => {
    const landed = await signIn((await begin()).href, 'ada', callback);
    expect((await finish(landed)).status).toBe(200);
    const tokens = (await readJson(await server.api('GET', '/v1/tokens'))).tokens.length;
    const replay = await finish(landed);
    expect(replay.status).toBe(400);
    expect((await readJson(replay)).code).toBe('ERR_LOGIN_STATE_INVALID');
    expect((await readJson(await server.api('GET', '/v1/tokens'))).tokens.length).toBe(tokens);
  });

  it('refuses a state Mandate never issued (a mismatched state)', async () => {
    const landed = await signIn((await begin()).href, 'ada', callback);
    landed.searchParams.set('state', 'forged-state-value-0123456789');
    const response = await finish(landed);
    expect(response.status).toBe(400);
    expect((await readJson(response)).code).toBe('ERR_LOGIN_STATE_INVALID');
    const missing = await fetch(`${callback}?code=abc`);
    expect((await readJson(missing)).code).toBe('ERR_LOGIN_STATE_INVALID');
  });

  it('refuses an expired state', async () => {
    const landed = await signIn((await begin()).href, 'bob', callback);
    clockOffset = 11 * 60_000;
    try {
      const response = await finish(landed);
      expect(response.status).toBe(400);
      expect((await readJson(response)).code).toBe('ERR_LOGIN_STATE_INVALID');
    } finally {
      clockOffset = 0;
    }
  });

  it('refuses an ID token whose nonce is not the login’s', async () => {
    const authorize = await begin();
    authorize.searchParams.set('nonce', 'a-nonce-mandate-did-not-choose');
    const response = await finish(await signIn(authorize.href, 'ada', callback));
    expect(response.status).toBe(401);
    const body = await readJson(response);
    expect(body.code).toBe('ERR_LOGIN_ID_TOKEN_INVALID');
    expect(body.detail).toContain('nonce');
  });

  it('refuses a real ID token issued to another application (audience)', async () => {
    const authorize = await begin();
    // The other application's own login, with the same nonce: a genuine token for another audience.
    const verifier = crypto.randomBytes(32).toString('base64url');
    const other = new URL(authorize.href);
    other.search = new URLSearchParams({
      client_id: OTHER_CLIENT.client_id,
      response_type: 'code',
      scope: 'openid email profile',
      redirect_uri: OTHER_CLIENT.redirect_uri,
      nonce: authorize.searchParams.get('nonce')!,
      state: 'other-state',
      code_challenge: crypto.createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    const code = (await signIn(other.href, 'ada', OTHER_CLIENT.redirect_uri)).searchParams.get('code')!;
    const exchanged = await fetch(`${idp.issuer}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${OTHER_CLIENT.client_id}:${OTHER_CLIENT.client_secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: OTHER_CLIENT.redirect_uri, code_verifier: verifier }),
    });
    const foreign = (await readJson(exchanged)).id_token as string;
    expect(JSON.parse(Buffer.from(foreign.split('.')[1]!, 'base64url').toString()).aud).toBe('other-app');

    const landed = await signIn(authorize.href, 'ada', callback);
    const tokens = (await readJson(await server.api('GET', '/v1/tokens'))).tokens.length;
    idp.swapNextIdToken(foreign);
    const response = await finish(landed);
    expect(response.status).toBe(401);
    const body = await readJson(response);
    expect(body.code).toBe('ERR_LOGIN_ID_TOKEN_INVALID');
    expect(body.detail).toMatch(/aud/);
    expect((await readJson(await server.api('GET', '/v1/tokens'))).tokens.length).toBe(tokens);
  });

  it('reports a sign-in the provider refused as ERR_LOGIN_FAILED', async () => {
    const authorize = await begin();
    const denied = new URL(callback);
    denied.search = new URLSearchParams({ error: 'access_denied', state: authorize.searchParams.get('state')!, iss: idp.issuer }).toString();
    const response = await finish(denied);
    expect(response.status).toBe(401);
    expect((await readJson(response)).code).toBe('ERR_LOGIN_FAILED');
  });

  it('refuses a sign-in whose email belongs to another operator, and changes nothing', async () => {
    expect((await server.api('POST', '/v1/operators', { subject: 'carol-manual', email: 'carol@example.com', name: 'Carol', roles: ['auditor'] })).status).toBe(201);
    const response = await finish(await signIn((await begin()).href, 'carol', callback));
    expect(response.status).toBe(409);
    expect((await readJson(response)).code).toBe('ERR_LOGIN_OPERATOR_CONFLICT');
    await nothingGranted('carol');
    expect(await readJson(await server.api('GET', '/v1/operators/carol-manual'))).toMatchObject({ roles: ['auditor'] });
  });

  it('answers 503 ERR_IDP_UNAVAILABLE when the provider fails at the code exchange, and grants nothing', async () => {
    const landed = await signIn((await begin()).href, 'bob', callback);
    idp.failNextToken();
    const response = await finish(landed);
    expect(response.status).toBe(503);
    expect((await readJson(response)).code).toBe('ERR_IDP_UNAVAILABLE');
    await nothingGranted('bob');
  });

  it('hands the session to a CLI loopback listener, and only to one on loopback', async () => {
    const returnTo = 'http://127.0.0.1:9/done?cli_state=abc123';
    const landed = await signIn((await begin(`?return_to=${encodeURIComponent(returnTo)}`)).href, 'ada', callback);
    const response = await finish(landed);
    expect(response.status).toBe(303);
    const to = new URL(response.headers.get('location')!);
    expect(to.origin + to.pathname).toBe('http://127.0.0.1:9/done');
    expect(to.searchParams.get('cli_state')).toBe('abc123');
    expect(to.searchParams.get('token')).toMatch(/^mdt_/);
    expect(to.searchParams.get('operator')).toBe('ada');

    const refused = await finish(await signIn((await begin(`?return_to=${encodeURIComponent(returnTo)}`)).href, 'bob', callback));
    const back = new URL(refused.headers.get('location')!);
    expect(back.searchParams.get('error')).toBe('ERR_LOGIN_NO_ROLE');
    expect(back.searchParams.get('token')).toBeNull();

    for (const elsewhere of ['https://evil.example/steal', 'http://10.0.0.1:80/x', 'http://127.0.0.1/x', 'javascript:alert(1)']) {
      const response = await fetch(`${server.url}/v1/login?return_to=${encodeURIComponent(elsewhere)}`, { redirect: 'manual' });
      expect(response.status).toBe(400);
      expect((await readJson(response)).code).toBe('ERR_LOGIN_RETURN_TO');
    }
  });
});

describe('operator single sign-on when the provider is down or not configured', () => {
  it('answers 503 ERR_IDP_UNAVAILABLE when discovery cannot reach the provider', async () => {
    const address = await providerAddress();
    await new Promise<void>((resolve) => address.server.close(() => resolve()));
    const server = await startTestServer('sqlite', { config: { ssoIssuer: address.issuer, ssoClientId: 'mandate', ssoRoleMap: 'admins=admin' } });
    try {
      const response = await fetch(`${server.url}/v1/login`, { redirect: 'manual' });
      expect(response.status).toBe(503);
      expect((await readJson(response)).code).toBe('ERR_IDP_UNAVAILABLE');
    } finally {
      await server.close();
    }
  });

  it('answers 404 ERR_SSO_NOT_CONFIGURED when single sign-on is off, and 503 when the issuer is no OpenID provider', async () => {
    const server = await startTestServer('sqlite');
    try {
      for (const route of ['/v1/login', '/v1/login/callback?state=x&code=y']) {
        const response = await fetch(`${server.url}${route}`, { redirect: 'manual' });
        expect(response.status).toBe(404);
        expect((await readJson(response)).code).toBe('ERR_SSO_NOT_CONFIGURED');
      }
      // A live server that answers discovery with 404: a wrong issuer URL.
      const misconfigured = await startTestServer('sqlite', { config: { ssoIssuer: server.url, ssoClientId: 'mandate', ssoRoleMap: 'admins=admin' } });
      try {
        const response = await fetch(`${misconfigured.url}/v1/login`, { redirect: 'manual' });
        expect(response.status).toBe(503);
        expect((await readJson(response)).code).toBe('ERR_IDP_UNAVAILABLE');
      } finally {
        await misconfigured.close();
      }
    } finally {
      await server.close();
    }
  });
});

describe('single sign-on configuration', () => {
  it('refuses to start with part of it: issuer, client id and role map go together', async () => {
    await expect(startTestServer('sqlite', { config: { ssoIssuer: 'https://idp.example.com', ssoClientId: 'mandate' } })).rejects.toThrow(/MANDATE_SSO_ROLE_MAP together/);
    await expect(startTestServer('sqlite', { config: { ssoIssuer: 'https://idp.example.com', ssoClientId: 'mandate', ssoRoleMap: 'ops=root' } })).rejects.toThrow(/MANDATE_SSO_ROLE_MAP/);
  });
});
