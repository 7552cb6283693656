import { spawn } from 'node:child_process';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDpopKeyPair } from '../src/sdk/dpop.ts';
import { AgentRuntime } from '../src/sdk/runtime.ts';
import { rawRequest, startUpstream } from './broker.peers.ts';
import { CODE_HASH, bootstrap, decode, personToken, register } from './fixtures.ts';
import { dialects, PG_URL, postgresAvailable, readJson, startTestServer, type TestServer, uniqueSchema } from './harness.ts';
import { exchangeAs, expectRefused, form, formHeaders } from './mandates.kit.ts';
import { adminApi, adminTokenOf, BIN, brokerCall, clusterEnv, dropClusterSchema, mandateAt, openClusterSchema, PUBLIC, type Replica, startReplica, stopReplica } from './replicas.kit.ts';

/**
 * A signing key that may be compromised is withdrawn at once: it leaves the JWKS, everything it
 * signed is refused (whatever its `exp`) on every replica, the mandates it signed are revoked, a
 * fresh key signs if it was signing, and the withdrawal is audited.
 */
const kidOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString()).kid as string;
const keyBot = {
  id: 'key-bot',
  name: 'Key bot',
  owner: 'alice@example.com',
  environment: 'dev',
  roles: ['operator'],
  code_hashes: [CODE_HASH],
  toolset: ['http:echo:*:/**'],
  may_delegate_to: ['key-bot'],
};
const SCOPE = 'http:echo:GET:/**';

describe.each(await dialects())('withdrawing a signing key, on %s', (dialect) => {
  let server: TestServer;
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let runtime: AgentRuntime;
  let broker: string;
  let firstKid: string;
  let firstMandate: string;
  let childMandate: string;
  let secondKid: string;
  let secondMandate: string;
  let alice: string;

  const call = (token: string) =>
    rawRequest(Number(new URL(server.url).port), 'GET', '/broker/echo/items', { authorization: `DPoP ${token}`, dpop: runtime.proof('GET', `${broker}/echo/items`, token) });
  const introspect = async (token: string) => readJson(await server.api('POST', '/oauth/introspect', form({ token }), formHeaders));
  const jwksKids = async () => (await readJson(await fetch(`${server.url}/.well-known/jwks.json`))).keys.map((k: { kid: string }) => k.kid);
  const renewIdentity = async () => {
    const url = `${server.url}/v1/instances/${runtime.instanceId}/token`;
    const res = await fetch(url, { method: 'POST', headers: { dpop: runtime.proof('POST', url) } });
    expect(res.status).toBe(200);
    return (await readJson(res)).identity_token as string;
  };

  beforeAll(async () => {
    server = await startTestServer(dialect);
    broker = `${server.url}/broker`;
    upstream = await startUpstream('unused');
    await register(server, keyBot);
    expect((await server.api('PUT', '/v1/secrets/echo_key', { value: 'echo-key-7a6b5c4d3e' })).status).toBe(200);
    expect((await server.api('POST', '/v1/connections', { name: 'echo', base_url: `${upstream.url}/api`, inject: ['header:X-Api-Key={{secret:echo_key}}'], allow: ['GET /**'] })).status).toBe(201);
    runtime = await bootstrap(server, 'key-bot', { environment: 'dev' });
    alice = await personToken(server, 'alice@example.com');
    firstMandate = (await runtime.obtainMandate({ subjectToken: alice, scope: SCOPE, resource: broker })).token;
    childMandate = (await runtime.obtainMandate({ subjectToken: firstMandate, scope: SCOPE, resource: broker })).token;
    firstKid = kidOf(firstMandate);
    ({ kid: secondKid } = await readJson(await server.api('POST', '/v1/keys/rotate')));
    secondMandate = (await runtime.obtainMandate({ subjectToken: await personToken(server, 'bob@example.com'), scope: SCOPE, resource: broker })).token;
  });
  afterAll(async () => {
    await upstream?.close();
    await server?.close();
  });

  it('refuses at once a mandate the enforcement point had just verified, when its key is withdrawn', async () => {
    expect(kidOf(secondMandate)).toBe(secondKid);
    // Warm: the broker has verified (and cached) both mandates.
    for (const token of [firstMandate, childMandate, secondMandate]) expect((await call(token)).status).toBe(200);
    const res = await server.api('POST', `/v1/keys/${firstKid}/revoke`);
    expect(res.status).toBe(200);
    const withdrawn = await readJson(res);
    expect(withdrawn).toMatchObject({ kid: firstKid, rotated_to: null, revoked_mandates: 2 });
    const forwarded = upstream.received.length;
    for (const token of [firstMandate, childMandate]) {
      const refused = await call(token);
      expect(refused.status).toBe(401);
      expect(JSON.parse(refused.body)).toEqual({ error: 'ERR_TOKEN_KEY_REVOKED', message: 'token was signed by a withdrawn signing key' });
      expect(refused.headers['www-authenticate']).toContain('error="invalid_token"');
      expect(await introspect(token)).toEqual({ active: false });
    }
    expect(upstream.received.length).toBe(forwarded);
    // A mandate the other key signed stands.
    expect((await call(secondMandate)).status).toBe(200);
  });

  it('unpublishes the key, revokes its mandates in the store, and audits the withdrawal', async () => {
    expect(await jwksKids()).toEqual([secondKid]);
    const rows = await server.ctx.store.db.selectFrom('mandates').select(['jti', 'kid', 'revoked_at']).execute();
    for (const jti of [decode(firstMandate).jti, decode(childMandate).jti]) expect(rows.find((r) => r.jti === jti)).toMatchObject({ kid: firstKid, revoked_at: expect.any(String) });
    expect(rows.find((r) => r.jti === decode(secondMandate).jti)).toMatchObject({ kid: secondKid, revoked_at: null });
    const [event] = server.audit.ofType('identity.key_revoked');
    expect(event).toMatchObject({ chain: 'system', action: 'key:revoke', resource: firstKid, status: 'success' });
    expect((event!.data as { resources: string[] }).resources.sort()).toEqual([decode(firstMandate).jti, decode(childMandate).jti].sort());
  });

  it('refuses identity and person tokens the key signed; the instance renews with its own key', async () => {
    const staleIdentity = await runtime.identityToken();
    expect(kidOf(staleIdentity)).toBe(firstKid);
    const bob = await personToken(server, 'bob@example.com');
    await expectRefused(server, () => exchangeAs(server, runtime, bob, broker, { scope: SCOPE, actor_token: staleIdentity }), {
      error: 'invalid_request',
      code: 'ERR_TOKEN_KEY_REVOKED',
      description: 'token was signed by a withdrawn signing key',
    });
    const renewed = await renewIdentity();
    expect(kidOf(renewed)).toBe(secondKid);
    expect(kidOf(alice)).toBe(firstKid);
    await expectRefused(server, () => exchangeAs(server, runtime, alice, broker, { scope: SCOPE, actor_token: renewed }), { error: 'invalid_request', code: 'ERR_TOKEN_KEY_REVOKED' });
    const answer = await exchangeAs(server, runtime, bob, broker, { scope: SCOPE, actor_token: renewed });
    expect(answer.status).toBe(200);
  });

  it('the SDK renews an identity token signed by a withdrawn key and obtains its mandate', async () => {
    expect(kidOf(await runtime.identityToken())).toBe(firstKid);
    const refusedBefore = server.audit.ofType('token.refused').length;
    const m = await runtime.obtainMandate({ subjectToken: await personToken(server, 'bob@example.com'), scope: SCOPE, resource: broker });
    expect(kidOf(m.token)).toBe(secondKid);
    expect(kidOf(await runtime.identityToken())).toBe(secondKid);
    expect(server.audit.ofType('token.refused').length - refusedBefore).toBe(1);
    // A refusal for any other reason is not retried.
    await expect(runtime.obtainMandate({ subjectToken: alice, scope: SCOPE, resource: broker })).rejects.toMatchObject({ error: 'invalid_request' });
    expect(server.audit.ofType('token.refused').length - refusedBefore).toBe(2);
  });

  it('rotates to a fresh key when the key withdrawn was the one signing', async () => {
    const res = await server.api('POST', `/v1/keys/${secondKid}/revoke`);
    expect(res.status).toBe(200);
    const { rotated_to: third } = await readJson(res);
    expect(third).toEqual(expect.any(String));
    expect([firstKid, secondKid]).not.toContain(third);
    expect(server.ctx.keys.signer().kid).toBe(third);
    expect(await jwksKids()).toEqual([third]);
    const refused = await call(secondMandate);
    expect([refused.status, JSON.parse(refused.body).error]).toEqual([401, 'ERR_TOKEN_KEY_REVOKED']);
    const fresh = await AgentRuntime.bootstrap(server.url, { agent_id: 'key-bot', join_token: (await readJson(await server.api('POST', '/v1/agents/key-bot/join-tokens', {}))).token, code_hash: CODE_HASH, environment: 'dev' }, generateDpopKeyPair());
    const m = await fresh.obtainMandate({ subjectToken: await personToken(server, 'alice@example.com'), scope: SCOPE, resource: broker });
    expect(kidOf(m.token)).toBe(third);
  });

  it('answers a second withdrawal, an unknown kid and a malformed kid with their exact errors', async () => {
    const again = await server.api('POST', `/v1/keys/${firstKid}/revoke`);
    expect([again.status, (await readJson(again)).code]).toEqual([409, 'ERR_KEY_ALREADY_REVOKED']);
    const unknown = await server.api('POST', '/v1/keys/no-such-kid/revoke');
    expect([unknown.status, (await readJson(unknown)).code]).toEqual([404, 'ERR_KEY_NOT_FOUND']);
    const malformed = await server.api('POST', `/v1/keys/${encodeURIComponent('a.b')}/revoke`);
    expect(malformed.status).toBe(400);
    const anonymous = await server.api('POST', `/v1/keys/${firstKid}/revoke`, undefined, { authorization: 'Bearer nope' });
    expect(anonymous.status).toBe(401);
  });

  it('withdraws a key once when two requests race for it, and one fresh key signs', async () => {
    const current = server.ctx.keys.signer().kid;
    const answers = await Promise.all([0, 1].map(() => server.api('POST', `/v1/keys/${current}/revoke`)));
    expect(answers.map((r) => r.status).sort()).toEqual([200, 409]);
    const signing = await server.ctx.store.db.selectFrom('signing_keys').select('kid').where('retired_at', 'is', null).execute();
    expect(signing).toHaveLength(1);
    expect(server.ctx.keys.signer().kid).toBe(signing[0]!.kid);
    const published = await jwksKids();
    expect(published).toContain(signing[0]!.kid);
    expect(published).not.toContain(current);
  });

  it.runIf(dialect === 'sqlite')('withdraws a key from the CLI: mandate keys revoke <kid>', async () => {
    const current = server.ctx.keys.signer().kid;
    const out = await new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, 'keys', 'revoke', current], {
        env: { PATH: process.env.PATH, HOME: server.dataDir, MANDATE_DATA_DIR: server.dataDir, MANDATE_ADDR: server.url, MANDATE_TOKEN: server.token },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout }));
    });
    expect(out.code).toBe(0);
    const next = server.ctx.keys.signer().kid;
    expect(next).not.toBe(current);
    expect(out.stdout).toContain(`signing key ${current} withdrawn`);
    expect(out.stdout).toContain(`new signing key ${next}`);
    expect(await jwksKids()).toEqual([next]);
  });
});

describe.runIf(await postgresAvailable())('withdrawing a signing key on one of two replicas over PostgreSQL', () => {
  const schema = uniqueSchema();
  let a: Replica;
  let b: Replica;
  let api: ReturnType<typeof adminApi>;
  let runtime: AgentRuntime;
  let person: string;
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let db: pg.Client;
  const RESOURCE = `${PUBLIC}/broker/echo`;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  beforeAll(async () => {
    db = await openClusterSchema(PG_URL, schema);
    upstream = await startUpstream('unused');
    const env = clusterEnv(PG_URL, schema);
    a = await startReplica('a', env);
    api = adminApi(adminTokenOf(a));
    b = await startReplica('b', env);
    expect((await api(a, 'POST', '/v1/agents', { ...keyBot, environment: 'dev' })).status).toBe(201);
    expect((await api(b, 'POST', '/v1/connections', { name: 'echo', base_url: `${upstream.url}/api`, allow: ['GET /**'] })).status).toBe(201);
    const join = await readJson(await api(b, 'POST', '/v1/agents/key-bot/join-tokens', {}));
    runtime = await AgentRuntime.bootstrap(a.url, { agent_id: 'key-bot', join_token: join.token, code_hash: CODE_HASH, environment: 'dev' as const });
    person = (await readJson(await api(b, 'POST', '/v1/users/token', { subject: 'alice@example.com' }))).token;
  }, 120_000);

  afterAll(async () => {
    await Promise.all([a, b].map((r) => stopReplica(r)));
    await upstream?.close();
    await dropClusterSchema(db, schema);
  });

  it('refuses on the other replica, with ERR_TOKEN_KEY_REVOKED, a mandate signed by a key withdrawn on one', async () => {
    const m = await mandateAt(a, runtime, { person, scope: SCOPE, resource: RESOURCE });
    const kid = kidOf(m.token);
    // B has verified it and holds it in its cache of verified mandates.
    expect((await brokerCall(b, runtime, m, 'GET', '/broker/echo/warm')).status).toBe(200);
    const withdrawn = await api(a, 'POST', `/v1/keys/${kid}/revoke`);
    expect([withdrawn.status, withdrawn.status === 200 ? null : await withdrawn.text()]).toEqual([200, null]);
    const { rotated_to: next } = await readJson(withdrawn);
    let refused: Response | undefined;
    for (const start = Date.now(); Date.now() - start < 2_000; await sleep(10)) {
      const res = await brokerCall(b, runtime, m, 'GET', '/broker/echo/after');
      if (res.status === 401) {
        refused = res;
        break;
      }
    }
    expect(refused, 'replica B kept accepting the mandate for 2 s').toBeDefined();
    expect(await readJson(refused!)).toEqual({ error: 'ERR_TOKEN_KEY_REVOKED', message: 'token was signed by a withdrawn signing key' });
    expect((await readJson(await fetch(`${b.url}/.well-known/jwks.json`))).keys.map((k: { kid: string }) => k.kid)).toEqual([next]);
    const introspected = await readJson(await api(b, 'POST', '/oauth/introspect', new URLSearchParams({ token: m.token }).toString()));
    expect(introspected).toEqual({ active: false });
  });

  it('issues on the other replica with the fresh key, and both replicas accept it', async () => {
    const url = `${PUBLIC}/v1/instances/${runtime.instanceId}/token`;
    const renewed = await fetch(`${b.url}/v1/instances/${runtime.instanceId}/token`, { method: 'POST', headers: { dpop: runtime.proof('POST', url) } });
    expect(renewed.status).toBe(200);
    const identity = (await readJson(renewed)).identity_token as string;
    const person2 = (await readJson(await api(a, 'POST', '/v1/users/token', { subject: 'alice@example.com' }))).token;
    const form = new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: person2,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      actor_token: identity,
      actor_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      scope: SCOPE,
      resource: RESOURCE,
    });
    const res = await fetch(`${b.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: runtime.proof('POST', `${PUBLIC}/oauth/token`) }, body: form });
    expect(res.status).toBe(200);
    const body = await readJson(res);
    const m = { token: body.access_token as string, scope: SCOPE, expiresAt: new Date(Date.now() + 60_000) };
    for (const replica of [a, b]) expect((await brokerCall(replica, runtime, m, 'GET', '/broker/echo/fresh')).status).toBe(200);
  });
});
