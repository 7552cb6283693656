import fs from 'node:fs';
import pg from 'pg';
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryAuditWriter } from '../src/audit/memory-writer.ts';
import { loadConfig } from '../src/config/schema.ts';
import { generateDpopKeyPair } from '../src/sdk/dpop.ts';
import { AgentRuntime } from '../src/sdk/runtime.ts';
import { type RunningServer, startServer } from '../src/server/serve.ts';
import { revokeMandates } from '../src/tokens/revocation.ts';
import { verifyPresentedMandate } from '../src/tokens/verify-request.ts';
import { dialects, PG_URL, postgresAvailable, readJson, tempDir, type TestServer, uniqueSchema } from './harness.ts';
import { CODE_HASH, decode, supportBot, delegationScene } from './fixtures.ts';
import { exchangeAs, exchangeForm, expectRefused, form, formHeaders, mandateRows, proofFor, tokenRequest, tokenUrl } from './mandates.kit.ts';

/** Attacks whose defence lives in the store: replay caches and revocation, on every dialect. */
describe.each(await dialects())('attacks the store must stop, on %s', (dialect) => {
  let server: TestServer;
  let parent: AgentRuntime;
  let child: AgentRuntime;
  let alice: string;
  let github: string;

  beforeAll(async () => {
    ({ server, parent, child, alice, github } = await delegationScene(dialect));
  });
  afterAll(() => server.close());

  it('accepts a DPoP proof once: the same exchange replayed is refused and issues nothing', async () => {
    const proof = proofFor(server, parent.key, 'POST', tokenUrl(server));
    const request = await exchangeForm(parent, alice, github);
    expect((await tokenRequest(server, request, proof)).status).toBe(200);
    await expectRefused(server, () => tokenRequest(server, request, proof), { error: 'invalid_dpop_proof', code: 'ERR_DPOP_REPLAY' });
  });

  it('accepts the same proof twice at once only once', async () => {
    const proof = proofFor(server, parent.key, 'POST', tokenUrl(server));
    const request = await exchangeForm(parent, alice, github);
    const answers = await Promise.all(Array.from({ length: 8 }, () => tokenRequest(server, request, proof)));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    expect(answers.filter((a) => a.body.error === 'invalid_dpop_proof')).toHaveLength(7);
  });

  it('never leaves a live child behind a parent revoked between the check and the write', async () => {
    const parentMandate = (await parent.obtainMandate({ subjectToken: alice, scope: 'tool:github/search_issues', resource: github })).token;
    const rows = await mandateRows(server);
    // The revocation commits after the exchange verified the parent and before it writes the child.
    const store = server.ctx.store as { transaction: TestServer['ctx']['store']['transaction'] };
    const original = store.transaction;
    store.transaction = (async (work: Parameters<typeof original>[0]) => {
      store.transaction = original;
      await original((trx) => revokeMandates(trx, [decode(parentMandate).jti], new Date()));
      return original(work);
    }) as typeof original;
    try {
      const answer = await exchangeAs(server, child, parentMandate, github);
      expect(answer.body).toMatchObject({ error: 'invalid_request', error_description: expect.stringContaining('revoked') });
      expect(await mandateRows(server)).toBe(rows);
    } finally {
      store.transaction = original;
    }
  });

  it.runIf(dialect === 'postgres')('makes a delegation wait for a cascade revocation in flight, then refuses it', async () => {
    const parentMandate = (await parent.obtainMandate({ subjectToken: alice, scope: 'tool:github/search_issues', resource: github })).token;
    const jti = decode(parentMandate).jti;
    const rows = await mandateRows(server);
    await server.ctx.store.db.connection().execute(async (conn) => {
      // Another replica's revokeMandates, paused after it marked the parent and looked for children.
      await sql`begin`.execute(conn);
      await conn.updateTable('mandates').set({ revoked_at: new Date().toISOString() }).where('jti', '=', jti).execute();
      expect(await conn.selectFrom('mandates').select('jti').where('parent_jti', '=', jti).execute()).toEqual([]);
      let settled = false;
      const exchange = exchangeAs(server, child, parentMandate, github).finally(() => {
        settled = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(settled).toBe(false);
      await sql`commit`.execute(conn);
      expect((await exchange).body).toMatchObject({ error: 'invalid_request', error_description: expect.stringContaining('revoked') });
    });
    expect(await mandateRows(server)).toBe(rows);
  });
});

/**
 * Two replicas over one PostgreSQL schema, behind one public address: a proof accepted by one is
 * refused by the other, at the token endpoint and at an enforcement point.
 */
describe.skipIf(!(await postgresAvailable()))('DPoP replay across two replicas sharing PostgreSQL', () => {
  const publicUrl = 'http://mandate.test';
  const dataDir = tempDir();
  const schema = uniqueSchema();
  let a: RunningServer;
  let b: RunningServer;
  let runtime: AgentRuntime;

  const start = () =>
    startServer(loadConfig({ dataDir, port: 0, devIssuerProd: true, logLevel: 'silent', databaseUrl: PG_URL, publicUrl }, {}), {
      audit: new MemoryAuditWriter(),
      logger: pino({ level: 'silent' }),
      pgSchema: schema,
    });
  const admin = (method: string, route: string, body?: unknown) =>
    fetch(`${a.url}${route}`, {
      method,
      headers: { authorization: `Bearer ${a.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body ?? {}),
    }).then(readJson);

  beforeAll(async () => {
    a = await start();
    b = await start();
    await admin('POST', '/v1/agents', supportBot);
    const { token } = await admin('POST', '/v1/agents/support-bot/join-tokens');
    const key = generateDpopKeyPair();
    runtime = await AgentRuntime.bootstrap(a.url, { agent_id: 'support-bot', join_token: token, code_hash: CODE_HASH, environment: 'prod', model: 'gpt-5' }, key);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses at replica B the token request replica A already accepted', async () => {
    expect(a.ctx.issuer).toBe(publicUrl);
    expect(b.ctx.issuer).toBe(publicUrl);
    const { token: alice } = await admin('POST', '/v1/users/token', { subject: 'alice@example.com' });
    const request = await exchangeForm(runtime, alice, `${publicUrl}/mcp/github`);
    const proof = proofFor(a, runtime.key, 'POST', tokenUrl(a));
    const first = await tokenRequest(a, request, proof);
    expect(first.status).toBe(200);
    const replayed = await tokenRequest(b, request, proof);
    expect(replayed).toMatchObject({ status: 400, body: { error: 'invalid_dpop_proof', error_description: expect.stringContaining('already been used') } });
    // A fresh proof works at B: the replicas share keys and the mandate it issues.
    expect((await tokenRequest(b, request, proofFor(b, runtime.key, 'POST', tokenUrl(b)))).status).toBe(200);

    const mandate = first.body.access_token!;
    const resource = `${publicUrl}/mcp/github`;
    const callProof = runtime.proof('POST', resource, mandate);
    const presented = { authorization: `DPoP ${mandate}`, dpop: callProof, htm: 'POST', htu: resource, resource };
    await expect(verifyPresentedMandate(a.ctx, presented)).resolves.toMatchObject({ person: 'alice@example.com' });
    await expect(verifyPresentedMandate(b.ctx, presented)).rejects.toMatchObject({ code: 'ERR_DPOP_REPLAY' });
  });

  it('ends a mandate at replica B when replica A revokes it', async () => {
    const { token: alice } = await admin('POST', '/v1/users/token', { subject: 'alice@example.com' });
    const answer = await tokenRequest(a, await exchangeForm(runtime, alice, `${publicUrl}/mcp/github`), proofFor(a, runtime.key, 'POST', tokenUrl(a)));
    const mandate = answer.body.access_token!;
    const revoke = await fetch(`${a.url}/oauth/revoke`, { method: 'POST', headers: { ...formHeaders, authorization: `Bearer ${a.adminToken}` }, body: form({ token: mandate }) });
    expect(revoke.status).toBe(200);
    const introspected = await fetch(`${b.url}/oauth/introspect`, { method: 'POST', headers: { ...formHeaders, authorization: `Bearer ${a.adminToken}` }, body: form({ token: mandate }) });
    expect(await introspected.text()).toBe('{"active":false}');
  });

  it('verifies at replica B a mandate signed by the key replica A rotated to', async () => {
    const rotated = await admin('POST', '/v1/keys/rotate');
    const { token: alice } = await admin('POST', '/v1/users/token', { subject: 'alice@example.com' });
    const resource = `${publicUrl}/mcp/github`;
    // B has never seen the new kid; the person token and the mandate are both signed with it.
    const answer = await tokenRequest(b, await exchangeForm(runtime, alice, resource), proofFor(b, runtime.key, 'POST', tokenUrl(b)));
    expect(answer.body).toMatchObject({ token_type: 'DPoP' });
    const fromA = await tokenRequest(a, await exchangeForm(runtime, alice, resource), proofFor(a, runtime.key, 'POST', tokenUrl(a)));
    expect(JSON.parse(Buffer.from(fromA.body.access_token!.split('.')[0]!, 'base64url').toString()).kid).toBe(rotated.kid);
    const presented = (token: string) => ({ authorization: `DPoP ${token}`, dpop: runtime.proof('GET', resource, token), htm: 'GET', htu: resource, resource });
    await expect(verifyPresentedMandate(b.ctx, presented(fromA.body.access_token!))).resolves.toMatchObject({ person: 'alice@example.com' });
    // Having reloaded, B signs with the new key too.
    expect(b.ctx.keys.signer().kid).toBe(rotated.kid);
  });
});
