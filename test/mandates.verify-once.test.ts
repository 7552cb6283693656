import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AgentRuntime } from '../src/sdk/runtime.ts';
import { AgentRuntime as Runtime } from '../src/sdk/runtime.ts';
import { bootstrap, CODE_HASH, decode, personToken, register } from './fixtures.ts';
import { dialects, PG_URL, postgresAvailable, readJson, startTestServer, type TestServer, uniqueSchema } from './harness.ts';
import { exchangeAs, expectRefused } from './mandates.kit.ts';
import { adminApi, adminTokenOf, clusterEnv, dropClusterSchema, exchangeAt, openClusterSchema, PUBLIC, type Replica, startReplica, stopReplica } from './replicas.kit.ts';

/**
 * The token endpoint verifies a presented identity token (actor) or person token (subject) once
 * per replica and remembers it by digest until its `exp`; a revoked instance, a suspended agent or
 * a withdrawn signing key makes it forget at once, and the token still ends exactly at `exp`.
 */
const onceBot = {
  id: 'once-bot',
  name: 'Once bot',
  owner: 'alice@example.com',
  environment: 'prod',
  roles: ['operator'],
  code_hashes: [CODE_HASH],
  toolset: ['tool:github/*'],
};
const kidOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString()).kid as string;

describe.each(await dialects())('identity and person tokens verified once, on %s', (dialect) => {
  let at: number | undefined;
  let server: TestServer;
  let alice: string;
  let github: string;

  const exchange = (runtime: AgentRuntime, subject = alice) => exchangeAs(server, runtime, subject, github);
  /** A runtime whose identity and person tokens the token endpoint has verified and remembered. */
  const remembered = async () => {
    const runtime = await bootstrap(server, 'once-bot');
    expect((await exchange(runtime)).status).toBe(200);
    const verifyWith = vi.spyOn(server.ctx.keys, 'verifyWith');
    try {
      expect((await exchange(runtime)).status).toBe(200);
      expect(verifyWith).not.toHaveBeenCalled();
    } finally {
      verifyWith.mockRestore();
    }
    return runtime;
  };

  beforeAll(async () => {
    server = await startTestServer(dialect, { now: () => (at === undefined ? new Date() : new Date(at)) });
    github = `${server.url}/mcp/github`;
    await register(server, onceBot);
    alice = await personToken(server, 'alice@example.com');
  });
  afterAll(async () => {
    await server?.close();
  });

  it('verifies the signatures of the actor and subject tokens once, then only the proof', async () => {
    const runtime = await remembered();
    expect(server.ctx.presented.size).toBeGreaterThanOrEqual(2);
    // A remembered actor token is still bound to the key that signs each proof.
    const stranger = await bootstrap(server, 'once-bot');
    await expectRefused(server, async () => exchangeAs(server, stranger, alice, github, { actor_token: await runtime.identityToken() }), {
      error: 'invalid_dpop_proof',
      code: 'ERR_DPOP_KEY_MISMATCH',
    });
  });

  it('applies an edited card at once to the agent of a remembered identity token', async () => {
    const runtime = await remembered();
    expect((await server.api('PUT', '/v1/agents', { agents: [{ ...onceBot, toolset: ['tool:jira/*'] }] })).status).toBe(200);
    await expectRefused(server, () => exchange(runtime), { error: 'invalid_scope', code: 'ERR_SCOPE_INVALID' });
    expect((await server.api('PUT', '/v1/agents', { agents: [onceBot] })).status).toBe(200);
    expect((await exchange(runtime)).status).toBe(200);
  });

  it('refuses a remembered identity token at once when its instance is revoked', async () => {
    const runtime = await remembered();
    expect((await server.api('POST', `/v1/instances/${runtime.instanceId}/revoke`)).status).toBe(200);
    await expectRefused(server, () => exchange(runtime), { error: 'invalid_request', code: 'ERR_ACTOR_REVOKED' });
  });

  it('refuses a remembered identity token at once when its agent is suspended, and accepts it again on resume', async () => {
    const runtime = await remembered();
    expect((await server.api('POST', '/v1/agents/once-bot/suspend')).status).toBe(200);
    await expectRefused(server, () => exchange(runtime), { error: 'invalid_request', code: 'ERR_AGENT_SUSPENDED' });
    expect((await server.api('POST', '/v1/agents/once-bot/resume')).status).toBe(200);
    expect((await exchange(runtime)).status).toBe(200);
  });

  it('refuses remembered identity and person tokens at once when their signing key is withdrawn', async () => {
    const runtime = await remembered();
    const kid = kidOf(await runtime.identityToken());
    expect(kidOf(alice)).toBe(kid);
    expect((await server.api('POST', `/v1/keys/${kid}/revoke`)).status).toBe(200);
    await expectRefused(server, () => exchange(runtime), { error: 'invalid_request', code: 'ERR_TOKEN_KEY_REVOKED' });
    // The person token alone, with an identity token from the new key.
    const fresh = await bootstrap(server, 'once-bot');
    expect(kidOf(await fresh.identityToken())).not.toBe(kid);
    await expectRefused(server, () => exchange(fresh), { error: 'invalid_request', code: 'ERR_TOKEN_KEY_REVOKED' });
    alice = await personToken(server, 'alice@example.com');
    expect((await exchange(fresh)).status).toBe(200);
  });

  it('refuses a remembered identity token exactly at its exp', async () => {
    const runtime = await remembered();
    const exp = decode(await runtime.identityToken()).exp as number;
    expect(decode(alice).exp).toBeGreaterThanOrEqual(exp);
    try {
      at = exp * 1000 - 1;
      expect((await exchange(runtime)).status).toBe(200);
      at = exp * 1000;
      await expectRefused(server, () => exchange(runtime), { error: 'invalid_request', code: 'ERR_TOKEN_EXPIRED' });
    } finally {
      at = undefined;
    }
  });
});

describe.runIf(await postgresAvailable())('identity tokens verified once, on two replicas over PostgreSQL', () => {
  const schema = uniqueSchema();
  let a: Replica;
  let b: Replica;
  let api: ReturnType<typeof adminApi>;
  let person: string;
  let db: pg.Client;
  const RESOURCE = `${PUBLIC}/mcp/github`;
  const SCOPE = 'tool:github/search_issues';

  const exchange = (at: Replica, runtime: AgentRuntime) => exchangeAt(at, runtime, { person, scope: SCOPE, resource: RESOURCE });
  const codeOf = async (res: Response) => ({ status: res.status, error: ((await readJson(res)) as { error?: string }).error });
  /** Polls until the replica refuses, up to 2 s; returns how long that took (or Infinity). */
  const refusedWithin = async (at: Replica, runtime: AgentRuntime) => {
    const start = performance.now();
    while (performance.now() - start < 2_000) {
      if ((await exchange(at, runtime)).status !== 200) return performance.now() - start;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return Number.POSITIVE_INFINITY;
  };
  const runtimeOn = async () => {
    const join = await readJson(await api(a, 'POST', '/v1/agents/once-bot/join-tokens', {}));
    const runtime = await Runtime.bootstrap(a.url, { agent_id: 'once-bot', join_token: join.token, code_hash: CODE_HASH, environment: 'prod' as const });
    // Both replicas verify (and remember) its identity token and the person token.
    for (const replica of [a, b, a, b]) expect(await codeOf(await exchange(replica, runtime))).toEqual({ status: 200, error: undefined });
    return runtime;
  };

  beforeAll(async () => {
    db = await openClusterSchema(PG_URL, schema);
    const env = clusterEnv(PG_URL, schema);
    a = await startReplica('a', env);
    api = adminApi(adminTokenOf(a));
    b = await startReplica('b', env);
    expect((await api(a, 'POST', '/v1/agents', onceBot)).status).toBe(201);
    person = (await readJson(await api(b, 'POST', '/v1/users/token', { subject: 'alice@example.com' }))).token;
  }, 120_000);
  afterAll(async () => {
    await Promise.all([a, b].map((r) => stopReplica(r)));
    await dropClusterSchema(db, schema);
  });

  it('refuses on the other replica a remembered identity token whose instance was revoked on one', async () => {
    const runtime = await runtimeOn();
    expect((await api(a, 'POST', `/v1/instances/${runtime.instanceId}/revoke`)).status).toBe(200);
    expect(await codeOf(await exchange(a, runtime))).toEqual({ status: 400, error: 'invalid_request' });
    expect(await refusedWithin(b, runtime)).toBeLessThan(2_000);
  });

  it('refuses on the other replica remembered tokens whose signing key was withdrawn on one', async () => {
    const runtime = await runtimeOn();
    const kid = kidOf(await runtime.identityToken());
    expect((await api(b, 'POST', `/v1/keys/${kid}/revoke`)).status).toBe(200);
    expect(await codeOf(await exchange(b, runtime))).toEqual({ status: 400, error: 'invalid_request' });
    expect(await refusedWithin(a, runtime)).toBeLessThan(2_000);
  });
});
