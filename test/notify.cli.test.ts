import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness.ts';

const BIN = path.resolve(import.meta.dirname, '../bin/mandate.js');
const KEY = 'whsec-cli-0123456789abcdef';

describe('mandate sink', () => {
  let server: TestServer;
  let env: NodeJS.ProcessEnv;
  const mandate = (args: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
      child.stdin.end(stdin);
    });

  beforeAll(async () => {
    server = await startTestServer('sqlite');
    env = { PATH: process.env.PATH, HOME: server.dataDir, MANDATE_ADDR: server.url, MANDATE_TOKEN: server.token, MANDATE_CONFIG: path.join(server.dataDir, 'none.json') };
  });
  afterAll(() => server.close());

  it('adds a sink with a key read from stdin, lists and shows it with its lag, pauses, resumes and removes it, never printing the key', async () => {
    const add = await mandate(['sink', 'add', 'oncall', '--url', 'https://hooks.example.com/mandate', '--secret-from-stdin', '--format', 'slack'], `${KEY}\n`);
    expect(add, add.stderr).toMatchObject({ code: 0 });
    expect(add.stdout).toContain('sink oncall added: slack to https://hooks.example.com/mandate for approval.requested (key sealed)');

    const list = await mandate(['sink', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/oncall\s+active\s+slack/);
    expect(list.stdout).toMatch(/LAG\s+FAILURES\s+LAST_ERROR/);
    const show = await mandate(['sink', 'show', 'oncall']);
    expect(show.stdout).toContain('0 event(s)');
    expect((await mandate(['sink', 'pause', 'oncall'])).stdout).toContain('sink oncall paused');
    expect((await mandate(['--json', 'sink', 'show', 'oncall'])).stdout).toContain('"status": "paused"');
    expect((await mandate(['sink', 'resume', 'oncall'])).stdout).toContain('sink oncall resumed');
    expect((await mandate(['sink', 'remove', 'oncall'])).stdout).toContain('removed sink oncall');
    for (const out of [add, list, show]) expect(out.stdout + out.stderr).not.toContain(KEY);
  });

  it('signs with a stored secret by name, and refuses a key choice that is missing or doubled', async () => {
    expect((await mandate(['secret', 'set', 'hook_key'], KEY)).code).toBe(0);
    const add = await mandate(['sink', 'add', 'audit-hook', '--url', 'https://hooks.example.com/a', '--secret', 'hook_key', '--events', 'approval.requested,approval.granted']);
    expect(add.stdout).toContain('for approval.requested, approval.granted (key secret hook_key)');
    const neither = await mandate(['sink', 'add', 'x', '--url', 'https://hooks.example.com/x']);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain('exactly one of --secret-from-stdin or --secret');
    const remote = await mandate(['sink', 'add', 'x', '--url', 'http://hooks.example.com/x', '--secret', 'hook_key']);
    expect(remote.code).not.toBe(0);
    expect(remote.stderr).toContain('https');
  });
});
