import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode, register, supportBot } from './fixtures.ts';
import { readJson, startTestServer, type TestServer } from './harness.ts';

/** Entitlements and person tokens with groups as an operator runs them: `node bin/mandate.js …` against a live server. */
const BIN = path.resolve(import.meta.dirname, '../bin/mandate.js');

describe('the mandate CLI for entitlements', { timeout: 90_000 }, () => {
  let server: TestServer;
  let env: NodeJS.ProcessEnv;

  function mandate(args: string[]) {
    return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
      child.stdin.end('');
    });
  }
  const entitlements = async () => (await readJson(await server.api('GET', '/v1/entitlements'))).entitlements.map((e: { group: string; items: string[] }) => [e.group, e.items]);

  beforeAll(async () => {
    server = await startTestServer('sqlite');
    env = { PATH: process.env.PATH, HOME: server.dataDir, MANDATE_DATA_DIR: server.dataDir, MANDATE_ADDR: server.url, MANDATE_TOKEN: server.token };
  });
  afterAll(() => server.close());

  it('sets, lists and removes a group\'s entitlements', async () => {
    expect((await mandate(['entitlement', 'list'])).stdout).toContain('no entitlements configured: persons do not limit mandates');
    const set = await mandate(['entitlement', 'set', 'finance', 'tool:stripe/refunds.list', 'http:billing:GET:/invoices/**']);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain('group finance: tool:stripe/refunds.list http:billing:GET:/invoices/**');
    expect((await mandate(['entitlement', 'list'])).stdout).toMatch(/^finance\s+tool:stripe\/refunds\.list http:billing:GET:\/invoices\/\*\*/m);
    const bad = await mandate(['entitlement', 'set', 'finance', 'admin']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('ERR_VALIDATION');
    expect((await mandate(['entitlement', 'remove', 'finance'])).code).toBe(0);
    const again = await mandate(['entitlement', 'remove', 'finance']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('(ERR_ENTITLEMENT_NOT_FOUND)');
    expect(await entitlements()).toEqual([]);
  });

  it('applies examples/entitlements.yaml whole, and a file with one bad entry not at all', async () => {
    const applied = await mandate(['entitlement', 'apply', '-f', path.resolve(import.meta.dirname, '../examples/entitlements.yaml')]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('applied entitlements of support, finance, operators');
    const before = await entitlements();
    expect(before.map(([group]: [string]) => group)).toEqual(['finance', 'operators', 'support']);

    const broken = path.join(server.dataDir, 'broken.yaml');
    fs.writeFileSync(broken, 'entitlements:\n  - group: interns\n    items: [tool:everything/echo]\n  - group: finance\n    items: [tool:everything/echo, "http:billing:GET:no-slash"]\n');
    const refused = await mandate(['entitlement', 'apply', '-f', broken]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('ERR_VALIDATION');
    expect(await entitlements()).toEqual(before);
  });

  it('issues a development person token carrying --group', async () => {
    const issued = await mandate(['user', 'token', 'dora@example.com', '--group', 'finance,operators']);
    expect(issued.code, issued.stderr).toBe(0);
    expect(decode(issued.stdout.trim())).toMatchObject({ sub: 'dora@example.com', groups: ['finance', 'operators'] });
    const bad = await mandate(['user', 'token', 'dora@example.com', '--group', 'has space']);
    expect(bad.code).toBe(1);
  });

  it('explains with policy explain --scope which of request, card and person limited a mandate', async () => {
    await register(server, supportBot);
    const item = supportBot.toolset[0]!;
    expect((await server.api('PUT', '/v1/entitlements/helpdesk', { items: [item] })).status).toBe(200);
    const asked = `${item} tool:nowhere/thing`;
    const out = await mandate(['policy', 'explain', '--scope', asked, '--agent', supportBot.id, '--person', 'dora@example.com', '--group', 'helpdesk']);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain(`${item}: granted as asked`);
    expect(out.stdout).toContain('tool:nowhere/thing: removed by the card');
    expect(out.stdout).toContain('refused:   ERR_SCOPE_INVALID');
    const json = await mandate(['--json', 'policy', 'explain', '--scope', item, '--agent', supportBot.id, '--person', 'erin@example.com']);
    expect(JSON.parse(json.stdout)).toMatchObject({ verdict: 'ERR_SCOPE_NOT_ENTITLED', scope: null, entitled_groups: [] });
    const missing = await mandate(['policy', 'explain', '--scope', item]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--scope needs --agent');
  });
});
