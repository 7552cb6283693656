import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPersonToken } from '../src/identity/person-tokens.ts';
import type { AgentRuntime } from '../src/sdk/runtime.ts';
import { dialects, readJson, startTestServer, type TestServer } from './harness.ts';
import { bootstrap, decode, personToken, register, summarizer, supportBot } from './fixtures.ts';
import { startIdp, type TestIdp } from './idp.kit.ts';
import { exchangeAs, expectRefused } from './mandates.kit.ts';

const MAX_AGE = 300;
const REFRESH = 30;
const STALE = 600;
const issuerPath = (issuer: string) => `/v1/issuers/${encodeURIComponent(issuer)}`;

describe.each(await dialects())('trusted issuers for persons (%s)', (dialect) => {
  let server: TestServer;
  let idp: TestIdp;
  let runtime: AgentRuntime;
  let github: string;
  let first: string;
  let clock = Date.now();
  const seconds = () => Math.floor(clock / 1000);
  const personClaims = (extra: Record<string, unknown> = {}) => ({
    iss: idp.issuer,
    sub: 'u-4711',
    email: 'alice@corp.example',
    groups: ['support', 'emea'],
    department: 'care',
    aud: 'mandate-prod',
    iat: seconds(),
    exp: seconds() + 3600,
    ...extra,
  });
  const exchange = (subjectToken: string) => exchangeAs(server, runtime, subjectToken, github);
  const refusedAs = (description: RegExp) => ({ error: 'invalid_request', code: 'ERR_SUBJECT_INVALID', description });

  beforeAll(async () => {
    idp = await startIdp();
    first = await idp.addKey('RS256');
    server = await startTestServer(dialect, {
      now: () => new Date(clock),
      config: { issuerKeysMaxAge: MAX_AGE, issuerKeysRefresh: REFRESH, issuerKeysStale: STALE },
    });
    await register(server, supportBot);
    runtime = await bootstrap(server, 'support-bot');
    github = `${server.url}/mcp/github`;
  });
  afterAll(async () => {
    await server?.close();
    await idp?.close();
  });

  it('refuses an issuer at a loopback or private address unless it is marked allow_loopback, storing nothing', async () => {
    const refusals = [
      { issuer: idp.issuer },
      { issuer: idp.issuer.replace('http:', 'https:') },
      { issuer: `https://localhost:${new URL(idp.issuer).port}` },
      { issuer: 'https://10.1.2.3' },
      { issuer: 'https://idp.example', jwks_uri: 'https://169.254.169.254/keys', allow_loopback: true },
    ];
    for (const body of refusals) {
      const res = await server.api('POST', '/v1/issuers', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(await readJson(res)).toMatchObject({ code: 'ERR_ISSUER_ADDRESS' });
    }
    expect(idp.hits).toEqual({ discovery: 0, jwks: 0 });
    expect((await readJson(await server.api('GET', '/v1/issuers'))).issuers).toEqual([]);
    expect(server.audit.ofType('admin.issuer_added')).toHaveLength(0);
  });

  it('refuses a discovery document that names another issuer', async () => {
    const liar = await startIdp({ issuerOverride: 'https://accounts.example' });
    await liar.addKey('RS256');
    try {
      const res = await server.api('POST', '/v1/issuers', { issuer: liar.issuer, allow_loopback: true });
      expect(res.status).toBe(400);
      expect(await readJson(res)).toMatchObject({ code: 'ERR_ISSUER_INVALID', detail: expect.stringContaining('names another issuer') });
      expect(liar.hits.jwks).toBe(0);
    } finally {
      await liar.close();
    }
  });

  it('trusts an IdP by discovery and exchanges a person token from it for a mandate naming the person', async () => {
    const res = await server.api('POST', '/v1/issuers', {
      issuer: idp.issuer,
      allow_loopback: true,
      audiences: ['mandate-prod'],
      algorithms: ['RS256', 'ES256'],
      claims: { attributes: ['department'] },
    });
    expect(res.status, await res.clone().text()).toBe(201);
    expect(await readJson(res)).toMatchObject({ issuer: idp.issuer, source: 'discovery', jwks_uri: idp.jwksUri, audiences: ['mandate-prod'], algorithms: ['RS256', 'ES256'], created_by: 'initial admin' });
    expect(server.audit.ofType('admin.issuer_added')).toEqual([expect.objectContaining({ chain: 'system', status: 'success' })]);
    expect(idp.hits).toEqual({ discovery: 1, jwks: 1 });

    const answer = await exchange(await idp.sign(personClaims(), first));
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(decode(answer.body.access_token!)).toMatchObject({ sub: 'u-4711', act: { agent_id: 'support-bot' } });
    const shown = await readJson(await server.api('GET', issuerPath(idp.issuer)));
    expect(shown).toMatchObject({ issuer: idp.issuer, claims: { subject: 'sub', email: 'email', groups: 'groups', attributes: ['department'] }, allow_loopback: true });
  });

  it("reads the person's email, groups and chosen attributes by the issuer's claim mapping", async () => {
    const ctx = server.ctx;
    const person = await verifyPersonToken(await idp.sign(personClaims({ secret_level: 'top' }), first), {
      db: ctx.store.db,
      keys: ctx.keys,
      issuer: ctx.issuer,
      devIssuer: true,
      issuerKeys: ctx.issuerKeys!,
      now: ctx.now(),
    });
    expect(person).toEqual({ sub: 'u-4711', iss: idp.issuer, exp: seconds() + 3600, email: 'alice@corp.example', groups: ['emea', 'support'], attributes: { department: 'care' } });
  });

  it('refuses a token for another audience, with an algorithm not accepted, or without the subject claim', async () => {
    await expectRefused(server, async () => exchange(await idp.sign(personClaims({ aud: 'someone-else' }), first)), refusedAs(/ERR_JWT_CLAIM_VALIDATION_FAILED/));
    const ed = await idp.addKey('EdDSA');
    clock += REFRESH * 1000;
    await expectRefused(server, async () => exchange(await idp.sign(personClaims(), ed)), refusedAs(/ERR_JOSE_ALG_NOT_ALLOWED/));
    await expectRefused(server, async () => exchange(await idp.sign(personClaims({ sub: undefined }), first)), refusedAs(/no sub claim/));
    await expectRefused(server, async () => exchange(await idp.sign(personClaims({ exp: seconds() - 120 }), first)), refusedAs(/ERR_JWT_EXPIRED/));
  });

  it('picks up a rotated IdP key on an unknown kid, and fetches again at most once per interval', async () => {
    clock += REFRESH * 1000;
    const rotated = await idp.addKey('ES256', { only: true });
    const before = idp.hits.jwks;
    expect((await exchange(await idp.sign(personClaims(), rotated))).status).toBe(200);
    expect(idp.hits.jwks).toBe(before + 1);

    // A key that is never published: made-up kids cannot make Mandate hammer the IdP.
    const unpublished = await idp.addKey('ES256', { publish: false });
    for (let i = 0; i < 3; i++) {
      await expectRefused(server, async () => exchange(await idp.sign(personClaims(), unpublished)), refusedAs(/ERR_JWKS_NO_MATCHING_KEY/));
    }
    expect(idp.hits.jwks).toBe(before + 1);
    clock += REFRESH * 1000;
    await expectRefused(server, async () => exchange(await idp.sign(personClaims(), unpublished)), refusedAs(/ERR_JWKS_NO_MATCHING_KEY/));
    expect(idp.hits.jwks).toBe(before + 2);
    // The key retired by the rotation is no longer accepted once the new set is fetched.
    await expectRefused(server, async () => exchange(await idp.sign(personClaims(), first)), refusedAs(/ERR_JWKS_NO_MATCHING_KEY/));
  });

  it('uses the keys it holds while the IdP is down, within the bound, then answers 503 and accepts nothing', async () => {
    const rotated = (await readJson(await fetch(idp.jwksUri))).keys[0].kid as string;
    idp.down = true;
    clock += (MAX_AGE + 1) * 1000;
    expect((await exchange(await idp.sign(personClaims(), rotated))).status).toBe(200);
    clock += STALE * 1000;
    await expectRefused(server, async () => exchange(await idp.sign(personClaims(), rotated)), {
      status: 503,
      error: 'temporarily_unavailable',
      code: 'ERR_ISSUER_UNAVAILABLE',
      description: /cannot be fetched/,
    });
    idp.down = false;
    clock += REFRESH * 1000;
    expect((await exchange(await idp.sign(personClaims(), rotated))).status).toBe(200);
  });

  it('lists, shows and removes an issuer; its tokens are refused from then on', async () => {
    const { issuers } = await readJson(await server.api('GET', '/v1/issuers'));
    expect(issuers.map((i: { issuer: string }) => i.issuer)).toEqual([idp.issuer]);
    expect((await server.api('POST', '/v1/issuers', { issuer: idp.issuer, allow_loopback: true })).status).toBe(409);
    const gone = await server.api('DELETE', issuerPath(idp.issuer));
    expect(gone.status).toBe(204);
    expect(server.audit.ofType('admin.issuer_removed')).toHaveLength(1);
    expect((await server.api('GET', issuerPath(idp.issuer))).status).toBe(404);
    expect(await readJson(await server.api('DELETE', issuerPath(idp.issuer)))).toMatchObject({ code: 'ERR_ISSUER_NOT_FOUND' });
    const kid = (await readJson(await fetch(idp.jwksUri))).keys[0].kid as string;
    await expectRefused(server, async () => exchange(await idp.sign(personClaims(), kid)), refusedAs(/not trusted/));
  });

  it('answers 503 for an IdP that is down before any of its keys were cached, and fetches a URL a token names never', async () => {
    const cold = await startIdp();
    const kid = await cold.addKey('ES256');
    try {
      expect((await server.api('POST', '/v1/issuers', { issuer: cold.issuer, allow_loopback: true, audiences: ['mandate-prod'] })).status).toBe(201);
      cold.down = true;
      const token = await cold.sign({ ...personClaims(), iss: cold.issuer }, kid, { jku: `${idp.jwksUri}` });
      const jwksHits = idp.hits.jwks;
      await expectRefused(server, () => exchange(token), { status: 503, error: 'temporarily_unavailable', code: 'ERR_ISSUER_UNAVAILABLE' });
      expect(idp.hits.jwks).toBe(jwksHits);
    } finally {
      await cold.close();
    }
  });

  it('trusts an issuer by an explicit JWKS URI', async () => {
    const hits = idp.hits.discovery;
    const res = await server.api('POST', '/v1/issuers', { issuer: idp.issuer, jwks_uri: idp.jwksUri, allow_loopback: true, audiences: ['mandate-prod'], algorithms: ['ES256'] });
    expect(res.status, await res.clone().text()).toBe(201);
    expect(idp.hits.discovery).toBe(hits);
    const kid = (await readJson(await fetch(idp.jwksUri))).keys[0].kid as string;
    expect((await exchange(await idp.sign(personClaims(), kid))).status).toBe(200);
  });
});

describe('the development issuer in prod', () => {
  let server: TestServer;
  let github: string;

  beforeAll(async () => {
    server = await startTestServer('sqlite', { config: { devIssuerProd: false } });
    await register(server, supportBot);
    await register(server, { ...summarizer, environment: 'dev' });
    github = `${server.url}/mcp/github`;
  });
  afterAll(() => server?.close());

  it('refuses a development person token for a prod agent unless the deployment allows it', async () => {
    const prod = await bootstrap(server, 'support-bot');
    const alice = await personToken(server, 'alice@example.com');
    await expectRefused(server, () => exchangeAs(server, prod, alice, github), {
      error: 'invalid_request',
      code: 'ERR_DEV_ISSUER_PROD',
      description: /agent support-bot is in prod: a development person token is not accepted/,
    });
  });

  it('accepts it for an agent outside prod', async () => {
    const dev = await bootstrap(server, 'summarizer', { environment: 'dev' });
    const answer = await exchangeAs(server, dev, await personToken(server, 'alice@example.com'), github);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  });

  it('is off in the configuration unless MANDATE_DEV_ISSUER_PROD says otherwise', async () => {
    const { loadConfig } = await import('../src/config/schema.ts');
    expect(loadConfig({ dataDir: '/tmp/unused' }, {}).devIssuerProd).toBe(false);
    expect(loadConfig({ dataDir: '/tmp/unused' }, { MANDATE_DEV_ISSUER_PROD: 'true' }).devIssuerProd).toBe(true);
  });
});
