import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness.ts';

/** Operators and their API tokens as a security team runs them: `node bin/mandate.js …` against a live server. */
const BIN = path.resolve(import.meta.dirname, '../bin/mandate.js');

describe('the mandate CLI for operators and API tokens', { timeout: 90_000 }, () => {
  let server: TestServer;
  let env: NodeJS.ProcessEnv;

  function mandate(args: string[], options: { token?: string } = {}) {
    return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, ...args], { env: { ...env, ...(options.token ? { MANDATE_TOKEN: options.token } : {}) }, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
      child.stdin.end('');
    });
  }

  beforeAll(async () => {
    server = await startTestServer('sqlite');
    env = { PATH: process.env.PATH, HOME: server.dataDir, MANDATE_DATA_DIR: server.dataDir, MANDATE_ADDR: server.url, MANDATE_TOKEN: server.token };
  });
  afterAll(() => server.close());

  it('adds an operator, gives them a token shown once, and ends it with token revoke and operator remove', async () => {
    const added = await mandate(['operator', 'add', 'pat', '--email', 'pat@example.com', '--name', 'Pat Doe', '--role', 'approver:prod', '--role', 'auditor:prod']);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain('added operator pat <pat@example.com> with roles approver:prod, auditor:prod');
    expect((await mandate(['operator', 'list'])).stdout).toMatch(/^pat\s+pat@example\.com\s+Pat Doe\s+approver:prod,auditor:prod/m);

    const created = await mandate(['token', 'create', '--for', 'pat', '--ttl', '1h']);
    expect(created.code, created.stderr).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^mdt_[A-Za-z0-9_-]{11}\.[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toMatch(/for pat\), expires \S+; shown once/);

    // Pat reads with the token, sees only their own tokens, and cannot grant beyond their roles.
    expect((await mandate(['agent', 'list'], { token })).code).toBe(0);
    const own = JSON.parse((await mandate(['--json', 'token', 'list'], { token })).stdout);
    expect(own).toEqual([expect.objectContaining({ operator: 'pat', roles: ['approver:prod', 'auditor:prod'], status: 'active', last_used_at: expect.any(String) })]);
    const beyond = await mandate(['token', 'create', '--role', 'security', '--ttl', '10m'], { token });
    expect(beyond.code).toBe(1);
    expect(beyond.stderr).toContain('(ERR_ROLE_NOT_HELD)');

    const revoked = await mandate(['token', 'revoke', own[0].id]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toContain(`revoked API token ${own[0].id} (pat)`);
    const refused = await mandate(['agent', 'list'], { token });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('(ERR_UNAUTHENTICATED)');
    expect((await mandate(['token', 'list'])).stdout).toMatch(new RegExp(`^${own[0].id}\\s+pat\\s+pat\\s+approver:prod,auditor:prod\\s+revoked`, 'm'));

    // Removing the operator revokes the tokens left.
    const second = (await mandate(['token', 'create', '--for', 'pat', '--role', 'auditor:prod', '--ttl', '10m'])).stdout.trim();
    const removed = await mandate(['operator', 'remove', 'pat']);
    expect(removed.stdout).toContain('removed operator pat; 1 token(s) revoked');
    expect((await mandate(['agent', 'list'], { token: second })).code).toBe(1);
    expect((await mandate(['operator', 'show', 'pat'])).stderr).toContain('(ERR_OPERATOR_NOT_FOUND)');
  });

  it('revokes an API token given whole, and refuses to revoke the last admin token', async () => {
    const service = (await mandate(['token', 'create', '--role', 'auditor', '--name', 'siem export', '--ttl', '1d'])).stdout.trim();
    expect((await mandate(['token', 'revoke', service])).stdout).toContain('(siem export)');
    const last = await mandate(['token', 'revoke', server.token]);
    expect(last.code).toBe(1);
    expect(last.stderr).toContain('(ERR_LAST_ADMIN)');
  });
});
