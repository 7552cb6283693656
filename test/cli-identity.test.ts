import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDpopKeyPair } from '../src/sdk/dpop.ts';
import { AgentRuntime } from '../src/sdk/runtime.ts';
import { readJson, startTestServer, type TestServer } from './harness.ts';
import { CODE_HASH, decode, register, supportBot } from './fixtures.ts';

/** Identity and token commands as an operator runs them: `node bin/mandate.js …` against a live server. */
const BIN = path.resolve(import.meta.dirname, '../bin/mandate.js');

describe('the mandate CLI for instances, join tokens, person tokens, keys and mandates', { timeout: 90_000 }, () => {
  let server: TestServer;
  let env: NodeJS.ProcessEnv;

  function mandate(args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}) {
    return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, ...args], { env: options.env ?? env, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
      child.stdin.end(options.input ?? '');
    });
  }

  const attestWith = (joinToken: string) =>
    AgentRuntime.bootstrap(server.url, { agent_id: 'support-bot', join_token: joinToken, code_hash: CODE_HASH, environment: 'prod', model: 'gpt-5' }, generateDpopKeyPair());

  beforeAll(async () => {
    server = await startTestServer('sqlite');
    env = { PATH: process.env.PATH, HOME: server.dataDir, MANDATE_DATA_DIR: server.dataDir, MANDATE_ADDR: server.url, MANDATE_TOKEN: server.token };
    await register(server, supportBot);
  });
  afterAll(() => server.close());

  it('creates a join token shown once with its expiry, good for exactly --uses instances', async () => {
    const out = await mandate(['agent', 'join-token', 'support-bot', '--ttl', '10m', '--uses', '2']);
    expect(out.code).toBe(0);
    const token = /(mjt_\S+)/.exec(out.stdout)![1]!;
    expect(out.stdout).toContain('shown once');
    expect(out.stdout).toMatch(/Expires \d{4}-\d\d-\d\dT\S+Z; attests up to 2 instance\(s\)/);
    const expires = Date.parse(/Expires (\S+);/.exec(out.stdout)![1]!);
    expect(expires - Date.now()).toBeGreaterThan(590_000);
    expect(expires - Date.now()).toBeLessThanOrEqual(600_000);
    await attestWith(token);
    await attestWith(token);
    await expect(attestWith(token)).rejects.toMatchObject({ status: 401, error: 'ERR_JOIN_TOKEN' });

    const json = JSON.parse((await mandate(['--json', 'agent', 'join-token', 'support-bot'])).stdout);
    expect(json).toMatchObject({ agent_id: 'support-bot', uses: 1, token: expect.stringMatching(/^mjt_/) });
  });

  it('issues a person token from the development issuer, bare on stdout', async () => {
    const out = await mandate(['user', 'token', 'alice@example.com', '--ttl', '30m']);
    expect(out.code).toBe(0);
    const claims = decode(out.stdout.trim());
    expect(claims).toMatchObject({ sub: 'alice@example.com', iss: `${server.ctx.issuer}/dev` });
    expect(claims.exp - claims.iat).toBe(1800);
    expect(out.stderr).toContain('expires in 1800s');
    const bad = await mandate(['user', 'token', 'alice@example.com', '--ttl', 'forever']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('ERR_VALIDATION');
  });

  it('lists, shows and revokes instances; revoking ends their mandates', async () => {
    const joined = JSON.parse((await mandate(['--json', 'agent', 'join-token', 'support-bot'])).stdout);
    const runtime = await attestWith(joined.token);
    const alice = (await mandate(['user', 'token', 'alice@example.com'])).stdout.trim();
    await runtime.obtainMandate({ subjectToken: alice, scope: 'tool:github/search_issues', resource: `${server.url}/mcp/github` });

    const list = await mandate(['instance', 'list', '--agent', 'support-bot']);
    expect(list.stdout.split('\n')[0]).toMatch(/^ID\s+AGENT_ID\s+STATUS\s+CREATED_AT\s+SPIFFE_ID/);
    expect(list.stdout).toMatch(new RegExp(`${runtime.instanceId}\\s+support-bot\\s+active`));
    expect((await mandate(['instance', 'list', '--agent', 'nobody'])).stdout).toBe('(none)\n');
    const show = await mandate(['instance', 'show', runtime.instanceId]);
    expect(show.stdout).toContain(runtime.spiffeId);
    expect(show.stdout).toContain(runtime.key.jkt);
    const revoked = await mandate(['instance', 'revoke', runtime.instanceId]);
    expect(revoked.stdout).toBe(`instance ${runtime.instanceId} revoked; 1 mandate(s) ended\n`);
    expect(JSON.parse((await mandate(['--json', 'instance', 'show', runtime.instanceId])).stdout)).toMatchObject({ status: 'revoked' });
    const missing = await mandate(['instance', 'show', 'ghost']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('instance ghost not found (ERR_INSTANCE_NOT_FOUND)');
  });

  it('introspects a mandate (argument or stdin) and revokes it', async () => {
    const joined = JSON.parse((await mandate(['--json', 'agent', 'join-token', 'support-bot'])).stdout);
    const runtime = await attestWith(joined.token);
    const alice = (await mandate(['user', 'token', 'alice@example.com'])).stdout.trim();
    const { token } = await runtime.obtainMandate({ subjectToken: alice, scope: 'tool:github/search_issues', resource: `${server.url}/mcp/github` });

    const shown = await mandate(['token', 'introspect', token]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^active\s+true$/m);
    expect(shown.stdout).toMatch(/^sub\s+alice@example.com$/m);
    expect(shown.stdout).toMatch(new RegExp(`^cnf_jkt\\s+${runtime.key.jkt}$`, 'm'));
    expect(shown.stdout).toMatch(/^exp\s+\d{4}-\d\d-\d\dT/m);
    const piped = JSON.parse((await mandate(['--json', 'token', 'introspect', '-'], { input: `${token}\n` })).stdout);
    expect(piped).toMatchObject({ active: true, client_id: 'support-bot', delegation: ['alice@example.com', runtime.spiffeId] });

    expect((await mandate(['token', 'revoke', '-'], { input: token })).code).toBe(0);
    expect((await mandate(['token', 'introspect', token])).stdout).toBe('active  false\n');
    expect(JSON.parse((await mandate(['--json', 'token', 'introspect', 'not-a-token'])).stdout)).toEqual({ active: false });

    const anonymous = await mandate(['token', 'introspect', token], { env: { ...env, MANDATE_TOKEN: 'mdt_wrong.wrong' } });
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toContain('invalid_client');
  });

  it('rotates the signing key and the JWKS publishes both', async () => {
    const before = server.ctx.keys.signer().kid;
    const out = await mandate(['keys', 'rotate']);
    expect(out.code).toBe(0);
    const kid = /new kid (\S+),/.exec(out.stdout)![1]!;
    expect(out.stdout).toContain(`retired ${before}`);
    expect(server.ctx.keys.signer().kid).toBe(kid);
    const jwks = await readJson(await fetch(`${server.url}/.well-known/jwks.json`));
    expect(jwks.keys.map((k: { kid: string }) => k.kid)).toEqual(expect.arrayContaining([before, kid]));
  });

  it('lists the new commands in help', async () => {
    const help = await mandate(['--help']);
    for (const name of ['instance', 'user', 'keys', 'token']) expect(help.stdout).toMatch(new RegExp(`^\\s+${name}\\b`, 'm'));
    expect((await mandate(['agent', '--help'])).stdout).toContain('join-token');
  });
});
