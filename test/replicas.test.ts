import { type ChildProcess, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentRuntime } from '../src/sdk/runtime.ts';
import { CODE_HASH } from './fixtures.ts';
import { PG_URL, postgresAvailable, readJson, tempDir, uniqueSchema } from './harness.ts';

/**
 * Two `mandate serve` replicas as separate processes over one PostgreSQL schema, behind one public
 * URL (MANDATE_PUBLIC_URL): whatever one issues the other verifies, and what one revokes or sees
 * (a DPoP proof) the other refuses.
 */
const BIN = path.resolve(import.meta.dirname, '../bin/mandate.js');
const PUBLIC = 'http://mandate.internal:7470';
const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT = 'urn:ietf:params:oauth:token-type:jwt';

function startReplica(env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [BIN, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let seen = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`replica did not start: ${seen}`)), 60_000);
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      const match = /Mandate listening on (\S+)/.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1]!, output: () => seen });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`replica exited ${code}: ${seen}`)));
  });
}

describe.runIf(await postgresAvailable())('replicas over one PostgreSQL', () => {
  const schema = uniqueSchema();
  let a: Awaited<ReturnType<typeof startReplica>>;
  let b: Awaited<ReturnType<typeof startReplica>>;
  let admin: string;
  let runtime: AgentRuntime;
  let person: string;

  const api = (replica: { url: string }, method: string, route: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${replica.url}${route}`, {
      method,
      headers: { authorization: `Bearer ${admin}`, ...(body === undefined ? {} : { 'content-type': typeof body === 'string' ? 'application/x-www-form-urlencoded' : 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });

  /** A token exchange sent to one replica, with the proof bound to the public token endpoint. */
  const exchange = async (replica: { url: string }, proof = runtime.proof('POST', `${PUBLIC}/oauth/token`)) => {
    const form = new URLSearchParams({ grant_type: EXCHANGE, subject_token: person, subject_token_type: JWT, actor_token: await runtime.identityToken(), actor_token_type: JWT, scope: 'tool:everything/echo', resource: `${PUBLIC}/mcp/everything` });
    return fetch(`${replica.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: proof }, body: form });
  };
  const introspect = async (replica: { url: string }, token: string) => readJson(await api(replica, 'POST', '/oauth/introspect', new URLSearchParams({ token }).toString()));

  beforeAll(async () => {
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`CREATE SCHEMA ${schema}`);
    await client.end();
    const env = {
      PATH: process.env.PATH,
      MANDATE_DATABASE_URL: `${PG_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`,
      MANDATE_MASTER_KEY: crypto.randomBytes(32).toString('base64'),
      MANDATE_PUBLIC_URL: PUBLIC,
      MANDATE_PORT: '0',
      MANDATE_LOG_LEVEL: 'warn',
    };
    a = await startReplica({ ...env, MANDATE_DATA_DIR: tempDir() });
    admin = /(mdt_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)/.exec(a.output())![1]!;
    b = await startReplica({ ...env, MANDATE_DATA_DIR: tempDir() });
    expect(b.output()).not.toContain('mdt_');
    const card = { id: 'shared-bot', name: 'Shared bot', owner: 'alice@example.com', roles: ['operator'], code_hashes: [CODE_HASH], toolset: ['tool:everything/*'] };
    expect((await api(a, 'POST', '/v1/agents', card)).status).toBe(201);
    const join = await readJson(await api(b, 'POST', '/v1/agents/shared-bot/join-tokens', {}));
    runtime = await AgentRuntime.bootstrap(a.url, { agent_id: 'shared-bot', join_token: join.token, code_hash: CODE_HASH, environment: 'dev' });
    person = (await readJson(await api(b, 'POST', '/v1/users/token', { subject: 'alice@example.com' }))).token;
  });

  afterAll(async () => {
    a?.child.kill('SIGTERM');
    b?.child.kill('SIGTERM');
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  });

  it('accepts on one replica the mandate issued on the other', async () => {
    const res = await exchange(a);
    expect(res.status).toBe(200);
    const { access_token } = await readJson(res);
    expect(await introspect(b, access_token)).toMatchObject({ active: true, client_id: 'shared-bot', sub: 'alice@example.com' });
  });

  it('refuses on the second replica a DPoP proof the first has already seen', async () => {
    const proof = runtime.proof('POST', `${PUBLIC}/oauth/token`);
    expect((await exchange(a, proof)).status).toBe(200);
    const replayed = await exchange(b, proof);
    expect(replayed.status).toBe(400);
    expect(await readJson(replayed)).toMatchObject({ error: 'invalid_dpop_proof', error_description: expect.stringContaining('already been used') });
  });

  it('refuses everywhere a mandate revoked on one replica', async () => {
    const { access_token } = await readJson(await exchange(b));
    expect((await api(b, 'POST', '/oauth/revoke', new URLSearchParams({ token: access_token }).toString())).status).toBe(200);
    expect(await introspect(a, access_token)).toEqual({ active: false });
    expect(await introspect(b, access_token)).toEqual({ active: false });
  });

  it('refuses on every replica the mandates of an agent suspended on one', async () => {
    const { access_token } = await readJson(await exchange(a));
    expect((await api(b, 'POST', '/v1/agents/shared-bot/suspend')).status).toBe(200);
    expect(await introspect(a, access_token)).toEqual({ active: false });
    expect((await exchange(a)).status).toBe(400);
    expect((await api(a, 'POST', '/v1/agents/shared-bot/resume')).status).toBe(200);
  });

  it('verifies on the other replica tokens signed after a key rotation on one', async () => {
    expect((await api(a, 'POST', '/v1/keys/rotate')).status).toBe(200);
    const { access_token } = await readJson(await exchange(a));
    expect(await introspect(b, access_token)).toMatchObject({ active: true });
  });
});
