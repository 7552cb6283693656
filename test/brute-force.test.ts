import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentRuntime } from '../src/sdk/runtime.ts';
import { bootstrap, personToken, register, supportBot } from './fixtures.ts';
import { readJson, startTestServer, type TestServer } from './harness.ts';
import { exchangeAs, form, formHeaders } from './mandates.kit.ts';

/**
 * The endpoints that check a secret slow a guessing client down: after `limit` failures from one
 * address within the window, 429 with `Retry-After`, whatever it sends, until the window has moved
 * past them. Successes do not count. Real HTTP; the server's clock is injected and moved.
 */
const LIMIT = 3;
const WINDOW = 60;

describe('the brute-force brake on the token, introspection and revocation endpoints and admin authentication', () => {
  let shift = 0;
  let server: TestServer;
  let agent: AgentRuntime;
  let alice: string;
  let github: string;

  beforeAll(async () => {
    server = await startTestServer('sqlite', { now: () => new Date(Date.now() + shift * 1000), config: { authFailureLimit: LIMIT, authFailureWindow: WINDOW } });
    github = `${server.url}/mcp/github`;
    await register(server, supportBot);
    agent = await bootstrap(server, 'support-bot');
    alice = await personToken(server, 'alice@example.com');
  });
  afterAll(() => server.close());

  /** GET /v1/agents with the right admin token, sent from another loopback address. */
  const fromAddress = (localAddress: string) =>
    new Promise<number>((resolve, reject) => {
      const url = new URL(`${server.url}/v1/agents`);
      const request = http.request({ host: url.hostname, port: url.port, path: url.pathname, localAddress, headers: { authorization: `Bearer ${server.token}` } }, (response) => {
        response.resume();
        resolve(response.statusCode!);
      });
      request.on('error', reject);
      request.end();
    });
  const pastTheWindow = () => {
    shift += WINDOW + 1;
  };
  const badAdmin = { authorization: 'Bearer mdt_AAAAAAAAAAA.guessedguessedguessedguessedguessedguessedgue' };

  it('answers 429 with Retry-After at the token endpoint after repeated refused requests, even to a valid one', async () => {
    const valid = () => exchangeAs(server, agent, alice, github);
    expect((await valid()).status).toBe(200);
    for (let i = 0; i < LIMIT; i++) {
      const refused = await exchangeAs(server, agent, alice, github, {}, 'not-a-proof');
      expect([refused.status, refused.body.error]).toEqual([400, 'invalid_dpop_proof']);
    }
    const res = await fetch(`${server.url}/oauth/token`, { method: 'POST', headers: formHeaders, body: form({ grant_type: 'x' }) });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe(String(WINDOW));
    expect(await readJson(res)).toEqual({ error: 'invalid_request', error_description: `too many refused token requests from this address; retry in ${WINDOW} s` });
    const issuedBefore = server.audit.ofType('token.issued').length;
    const blocked = await valid();
    expect(blocked.status).toBe(429);
    expect(server.audit.ofType('token.issued')).toHaveLength(issuedBefore);
    shift += 30;
    const later = await fetch(`${server.url}/oauth/token`, { method: 'POST', headers: formHeaders, body: form({ grant_type: 'x' }) });
    expect([later.status, later.headers.get('retry-after')]).toEqual([429, String(WINDOW - 30)]);
    shift += WINDOW - 30;
    expect((await valid()).status).toBe(200);
  });

  it('does not count successes: only the failures of the window bring the brake on', async () => {
    pastTheWindow();
    for (let i = 0; i < 5; i++) expect((await exchangeAs(server, agent, alice, github)).status).toBe(200);
    for (let i = 0; i < LIMIT - 1; i++) expect((await exchangeAs(server, agent, alice, github, { grant_type: 'password' })).status).toBe(400);
    expect((await exchangeAs(server, agent, alice, github)).status).toBe(200);
    expect((await exchangeAs(server, agent, alice, github, { grant_type: 'password' })).status).toBe(400);
    expect((await exchangeAs(server, agent, alice, github)).status).toBe(429);
  });

  it('answers 429 with Retry-After to admin authentication after repeated bad admin tokens, even to the right one', async () => {
    pastTheWindow();
    for (let i = 0; i < 5; i++) expect((await server.api('GET', '/v1/agents')).status).toBe(200);
    for (let i = 0; i < LIMIT; i++) {
      const res = await server.api('GET', '/v1/agents', undefined, badAdmin);
      expect([res.status, (await readJson(res)).code]).toEqual([401, 'ERR_UNAUTHENTICATED']);
    }
    const blocked = await server.api('GET', '/v1/agents');
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('retry-after')).toBe(String(WINDOW));
    expect(await readJson(blocked)).toMatchObject({ status: 429, code: 'ERR_TOO_MANY_FAILURES' });
    // Introspection and revocation authenticate with admin tokens: the same brake holds them.
    const introspection = await server.api('POST', '/oauth/introspect', form({ token: 'x' }), formHeaders);
    expect([introspection.status, introspection.headers.get('retry-after'), (await readJson(introspection)).error]).toEqual([429, String(WINDOW), 'invalid_client']);
    const revocation = await server.api('POST', '/oauth/revoke', form({ token: 'x' }), formHeaders);
    expect([revocation.status, revocation.headers.get('retry-after')]).toEqual([429, String(WINDOW)]);
    // Per client address: another address is not held back by this one's failures.
    expect(await fromAddress('127.0.0.2')).toBe(200);
    expect(await fromAddress('127.0.0.1')).toBe(429);
    // The token endpoint counts its own failures: an agent is not locked out by a guessed admin token.
    expect((await exchangeAs(server, agent, alice, github)).status).toBe(200);
    pastTheWindow();
    expect((await server.api('GET', '/v1/agents')).status).toBe(200);
  });

  it('answers 429 at introspection and revocation after repeated bad admin tokens there', async () => {
    pastTheWindow();
    for (let i = 0; i < LIMIT; i++) {
      const route = i % 2 === 0 ? '/oauth/introspect' : '/oauth/revoke';
      const res = await server.api('POST', route, form({ token: 'x' }), { ...formHeaders, ...badAdmin });
      expect([res.status, (await readJson(res)).error]).toEqual([401, 'invalid_client']);
    }
    const blocked = await server.api('POST', '/oauth/introspect', form({ token: 'x' }), formHeaders);
    expect([blocked.status, blocked.headers.get('retry-after')]).toEqual([429, String(WINDOW)]);
    pastTheWindow();
    expect(await readJson(await server.api('POST', '/oauth/introspect', form({ token: 'x' }), formHeaders))).toEqual({ active: false });
  });

  it('answers 429 at consent after repeated refused consents, so person tokens cannot be probed', async () => {
    const id = 'apr_AAAAAAAAAAAAAAAA';
    const consent = (token: string) => server.api('POST', `/v1/approvals/${id}/consent`, {}, { authorization: `Bearer ${token}` });
    const refusedBefore = server.audit.ofType('approval.consent_refused').length;
    for (let i = 0; i < LIMIT; i++) {
      const refused = await consent(`eyJguessed.${i}.token`);
      expect(refused.status).toBe(401);
      expect((await readJson(refused)).code).toBe('ERR_SUBJECT_INVALID');
    }
    expect(server.audit.ofType('approval.consent_refused').slice(refusedBefore).map((e) => e.denial_reason)).toEqual(Array(LIMIT).fill('ERR_SUBJECT_INVALID'));
    // Even the person's valid token is not looked at now.
    const blocked = await consent(alice);
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('retry-after')).toBe(String(WINDOW));
    expect((await readJson(blocked)).code).toBe('ERR_TOO_MANY_FAILURES');
    expect(server.audit.ofType('approval.consent_refused')).toHaveLength(refusedBefore + LIMIT);
    pastTheWindow();
    const after = await consent(alice);
    expect((await readJson(after)).code).toBe('ERR_APPROVAL_NOT_FOUND');
    expect(server.audit.ofType('approval.consent_refused').at(-1)).toMatchObject({ actor: { person: 'alice@example.com' }, denial_reason: 'ERR_APPROVAL_NOT_FOUND' });
    pastTheWindow();
  });
});
