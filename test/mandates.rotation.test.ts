import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentRuntime } from '../src/sdk/runtime.ts';
import { verifyPresentedMandate } from '../src/tokens/verify-request.ts';
import { dialects, readJson, startTestServer, type TestServer } from './harness.ts';
import { bootstrap, decode, personToken, register, supportBot } from './fixtures.ts';
import { form, formHeaders } from './mandates.kit.ts';

const kidOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString()).kid as string;

describe.each(await dialects())('signing key rotation, on %s', (dialect) => {
  let server: TestServer;
  let agent: AgentRuntime;
  let alice: string;
  let github: string;
  let oldKid: string;
  let oldMandate: string;
  let newKid: string;

  beforeAll(async () => {
    server = await startTestServer(dialect);
    github = `${server.url}/mcp/github`;
    await register(server, supportBot);
    agent = await bootstrap(server, 'support-bot');
    alice = await personToken(server, 'alice@example.com');
    oldMandate = (await agent.obtainMandate({ subjectToken: alice, scope: 'tool:github/search_issues', resource: github })).token;
    oldKid = kidOf(oldMandate);
  });
  afterAll(() => server.close());

  const present = (token: string) =>
    verifyPresentedMandate(server.ctx, { authorization: `DPoP ${token}`, dpop: agent.proof('GET', github, token), htm: 'GET', htu: github, resource: github });
  const introspect = async (token: string) => readJson(await server.api('POST', '/oauth/introspect', form({ token }), formHeaders));

  it('rotates to a new kid that signs every new mandate', async () => {
    const res = await server.api('POST', '/v1/keys/rotate');
    expect(res.status).toBe(200);
    ({ kid: newKid } = await readJson(res));
    expect(await readJson(await server.api('POST', '/v1/keys/rotate', undefined, { authorization: 'Bearer nope' }))).toMatchObject({ status: 401 });
    expect(newKid).not.toBe(oldKid);
    expect(server.ctx.keys.signer().kid).toBe(newKid);
    // Tokens signed before the rotation still work as subject and actor of a new exchange.
    const fresh = (await agent.obtainMandate({ subjectToken: alice, scope: 'tool:github/search_issues', resource: github })).token;
    expect(kidOf(fresh)).toBe(newKid);
    expect(kidOf(alice)).toBe(oldKid);
    await expect(present(fresh)).resolves.toMatchObject({ person: 'alice@example.com' });
  });

  it('still verifies and introspects a mandate signed by the retired key', async () => {
    await expect(present(oldMandate)).resolves.toMatchObject({ claims: { jti: decode(oldMandate).jti } });
    expect(await introspect(oldMandate)).toMatchObject({ active: true, jti: decode(oldMandate).jti });
  });

  it('publishes both keys in the JWKS, and a retired key can still be revoked against', async () => {
    const jwks = await readJson(await fetch(`${server.url}/.well-known/jwks.json`));
    expect(jwks.keys.map((k: { kid: string }) => k.kid)).toEqual([oldKid, newKid]);
    for (const key of jwks.keys) {
      expect(key).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
      expect(key.d).toBeUndefined();
    }
    expect((await server.api('POST', '/oauth/revoke', form({ token: oldMandate }), formHeaders)).status).toBe(200);
    expect(await introspect(oldMandate)).toEqual({ active: false });
  });

  it('keeps the keys across a restart of the key ring from the store', async () => {
    await server.ctx.keys.load(server.ctx.now());
    expect(server.ctx.keys.signer().kid).toBe(newKid);
    expect([...server.ctx.keys.verificationKeys().keys()].sort()).toEqual([oldKid, newKid].sort());
  });
});
