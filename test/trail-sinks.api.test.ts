import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminToken } from '../src/server/admin-tokens.ts';
import { dialects, readJson, startTestServer, type TestServer } from './harness.ts';

/** Trail sinks as operators configure them: the API on both stores, the CLI on one. */
const HEC_TOKEN = 'hec-0f6e2b7c-secret-token-value';
const BIN = path.resolve(import.meta.dirname, '../bin/mandate.js');

describe.each(await dialects())('trail sinks through the admin API (%s)', (dialect) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(dialect);
  });
  afterAll(() => server.close());

  it('adds a sink with a sealed secret that no answer, list or trail event shows', async () => {
    const res = await server.api('POST', '/v1/trail/sinks', {
      name: 'splunk',
      kind: 'splunk-hec',
      format: 'ocsf',
      events: ['tool.decision'],
      environments: ['prod'],
      settings: { url: 'https://splunk.example.com:8088/', index: 'mandate' },
      secret: HEC_TOKEN,
    });
    const text = await res.text();
    expect(res.status, text).toBe(201);
    expect(JSON.parse(text)).toMatchObject({ name: 'splunk', kind: 'splunk-hec', format: 'ocsf', secret: 'sealed', status: 'active', events: ['tool.decision'], environments: ['prod'], lag: { events: 0, seconds: 0 }, failures: 0 });
    const listed = await (await server.api('GET', '/v1/trail/sinks')).text();
    const shown = await (await server.api('GET', '/v1/trail/sinks/splunk')).text();
    for (const body of [text, listed, shown, JSON.stringify(server.audit.events)]) expect(body).not.toContain(HEC_TOKEN);
    expect(server.audit.events.some((e) => e.type === 'admin.trail_sink_added' && (e.args_digest ?? null) === null)).toBe(true);
  });

  it('refuses a sink whose settings do not fit its kind, and stores nothing', async () => {
    const bad = [
      { name: 'a', kind: 'syslog-tcp', settings: {} },
      { name: 'b', kind: 'syslog-tcp', settings: { address: 'no-port' } },
      { name: 'c', kind: 'http-webhook', settings: { url: 'http://example.com/hook' }, secret: 'k'.repeat(20) },
      { name: 'd', kind: 'http-webhook', settings: { url: 'https://example.com/hook' }, secret: 'short' },
      { name: 'e', kind: 'splunk-hec', settings: { url: 'https://splunk.example.com' } },
      { name: 'f', kind: 'nats-jetstream', settings: { servers: ['nats://127.0.0.1:4222'] } },
      { name: 'g', kind: 'syslog-tcp', settings: { address: '127.0.0.1:514', url: 'https://x.example.com' } },
      { name: 'h', kind: 'syslog-tls', settings: { address: '127.0.0.1:6514', client_cert: 'PEM' } },
    ];
    for (const body of bad) {
      const res = await server.api('POST', '/v1/trail/sinks', body);
      expect(res.status, body.name).toBe(400);
      expect((await readJson(res)).code, body.name).toBe('ERR_TRAIL_SINK_INVALID');
    }
    const unknownKind = await server.api('POST', '/v1/trail/sinks', { name: 'z', kind: 'carrier-pigeon', settings: {} });
    expect(unknownKind.status).toBe(400);
    const { sinks } = await readJson(await server.api('GET', '/v1/trail/sinks'));
    expect(sinks.map((s: { name: string }) => s.name)).toEqual(['splunk']);
  });

  it('refuses a second sink of the same name and answers 404 for an unknown one', async () => {
    const again = await server.api('POST', '/v1/trail/sinks', { name: 'splunk', kind: 'syslog-tcp', settings: { address: '127.0.0.1:514' } });
    expect(again.status).toBe(409);
    expect((await readJson(again)).code).toBe('ERR_TRAIL_SINK_EXISTS');
    for (const [method, route] of [['GET', '/v1/trail/sinks/nope'], ['DELETE', '/v1/trail/sinks/nope'], ['POST', '/v1/trail/sinks/nope/pause']] as const) {
      const res = await server.api(method, route, method === 'POST' ? {} : undefined);
      expect(res.status).toBe(404);
      expect((await readJson(res)).code).toBe('ERR_TRAIL_SINK_NOT_FOUND');
    }
  });

  it('pauses, resumes and removes a sink, each change audited', async () => {
    expect((await readJson(await server.api('POST', '/v1/trail/sinks/splunk/pause', {}))).status).toBe('paused');
    expect((await readJson(await server.api('POST', '/v1/trail/sinks/splunk/resume', {}))).status).toBe('active');
    expect((await server.api('DELETE', '/v1/trail/sinks/splunk')).status).toBe(204);
    const types = server.audit.events.map((e) => e.type);
    for (const type of ['admin.trail_sink_paused', 'admin.trail_sink_resumed', 'admin.trail_sink_removed']) expect(types).toContain(type);
  });

  it('lets an auditor read sinks but not add them', async () => {
    const { token } = await createAdminToken(server.ctx.store.db, { name: 'auditor@example.com', role: 'auditor', now: new Date() });
    const auth = { authorization: `Bearer ${token}` };
    expect((await server.api('GET', '/v1/trail/sinks', undefined, auth)).status).toBe(200);
    const add = await server.api('POST', '/v1/trail/sinks', { name: 'x', kind: 'syslog-tcp', settings: { address: '127.0.0.1:514' } }, auth);
    expect(add.status).toBe(403);
  });
});

describe('the mandate trail sink CLI', { timeout: 60_000 }, () => {
  let server: TestServer;
  let env: NodeJS.ProcessEnv;
  const mandate = (args: string[], stdin = '') =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
      child.stdin.end(stdin);
    });
  beforeAll(async () => {
    server = await startTestServer('sqlite');
    env = { PATH: process.env.PATH, HOME: server.dataDir, MANDATE_DATA_DIR: server.dataDir, MANDATE_ADDR: server.url, MANDATE_TOKEN: server.token };
  });
  afterAll(() => server.close());

  it('adds, lists, shows, pauses and removes a sink; the secret comes from stdin and is never printed', async () => {
    const add = await mandate(['trail', 'sink', 'add', 'hook', '--kind', 'http-webhook', '--url', 'http://127.0.0.1:9/trail/secret-path', '--format', 'cef', '--events', 'tool.decision,anomaly.detected', '--secret-from-stdin'], 'whsec-trail-0123456789abcdef\n');
    expect(add.stderr).toBe('');
    expect(add.stdout).toContain('trail sink hook added: http-webhook cef to http://127.0.0.1:9/trail/… for tool.decision,anomaly.detected events (secret sealed)');
    const tls = await mandate(['trail', 'sink', 'add', 'rsyslog', '--kind', 'syslog-tcp', '--address', '127.0.0.1:6514', '--environments', 'prod']);
    expect(tls.code, tls.stderr).toBe(0);
    const listed = await mandate(['trail', 'sink', 'list']);
    expect(listed.stdout).toMatch(/NAME\s+STATUS\s+KIND\s+FORMAT\s+TARGET/);
    expect(listed.stdout).toMatch(/rsyslog\s+active\s+syslog-tcp\s+jsonl\s+127\.0\.0\.1:6514\s+all\s+0\s+0 event\(s\)/);
    const shown = await mandate(['trail', 'sink', 'show', 'hook']);
    expect(shown.stdout).toMatch(/secret\s+sealed/);
    expect(shown.stdout).toMatch(/events\s+tool.decision,anomaly.detected/);
    expect((await mandate(['trail', 'sink', 'pause', 'hook'])).stdout).toContain('trail sink hook paused');
    expect((await mandate(['trail', 'sink', 'remove', 'hook'])).stdout).toContain('removed trail sink hook');
    const bad = await mandate(['trail', 'sink', 'add', 'x', '--kind', 'syslog-tcp']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('ERR_TRAIL_SINK_INVALID');
    for (const out of [add, listed, shown]) expect(out.stdout).not.toContain('whsec-trail');
    fs.writeFileSync(path.join(server.dataDir, 'cli-trail-sinks.txt'), [listed.stdout, shown.stdout].join('\n'));
  });
});
