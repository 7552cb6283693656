import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryAuditWriter } from '../src/audit/memory-writer.ts';
import { loadConfig } from '../src/config/schema.ts';
import { signatureHeader, verifySignature } from '../src/notify/signature.ts';
import { createAdminToken } from '../src/server/admin-tokens.ts';
import { startServer } from '../src/server/serve.ts';
import type { Dialect } from '../src/store/store.ts';
import { addEverything, agentSession, type AgentSession, closeSessions, operatorCard, refusalMeta } from './governance.kit.ts';
import { dialects, dropSchema, PG_URL, readJson, tempDir, type TestServer, uniqueSchema } from './harness.ts';

const LONG = 'trigger-long-running-operation';
const KEY = 'whsec-notify-0123456789abcdef';

/** A webhook receiver on loopback: records every request and answers the next scripted status (200 once the script is spent). */
async function startReceiver(delayMs = 0) {
  const requests: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
  const script: number[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      requests.push({ headers: req.headers, body });
      res.statusCode = script.shift() ?? 200;
      setTimeout(() => res.end(), delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, requests, script, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** A server whose trail is the store's (the delivery loop reads it), restartable on the same data. */
async function startStored(dialect: Dialect, place = { dataDir: tempDir(), schema: dialect === 'postgres' ? uniqueSchema() : undefined }): Promise<TestServer & { place: typeof place }> {
  const config = loadConfig({ dataDir: place.dataDir, port: 0, devIssuerProd: true, logLevel: 'silent', authFailureLimit: 0, ...(dialect === 'postgres' ? { databaseUrl: PG_URL } : {}) }, {});
  const server = await startServer(config, { logger: pino({ level: 'silent' }), ...(place.schema ? { pgSchema: place.schema } : {}) });
  const token = server.adminToken ?? (await createAdminToken(server.ctx.store.db, { name: 'admin@example.com', role: 'admin', now: new Date() })).token;
  return {
    ...server,
    place,
    token,
    audit: new MemoryAuditWriter(),
    dataDir: place.dataDir,
    api: (method, route, body, headers = {}) =>
      fetch(`${server.url}${route}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
  };
}

async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, ms = 8000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.each(await dialects())('approvals reach people through signed webhooks (%s)', (dialect) => {
  let server: Awaited<ReturnType<typeof startStored>>;
  let agent: AgentSession;
  const receivers: Array<Awaited<ReturnType<typeof startReceiver>>> = [];
  const receiver = async () => {
    const r = await startReceiver();
    receivers.push(r);
    return r;
  };
  let calls = 0;
  // Each call differs: the same call again would find its approval pending, not ask anew.
  const hold = async () => refusalMeta(await agent.call(LONG, { duration: 0.1, steps: 1, note: `call ${++calls}` }))!.approval!;
  const addSink = async (body: object) => {
    const res = await server.api('POST', '/v1/sinks', body);
    expect(res.status, await res.clone().text()).toBe(201);
    return readJson(res);
  };

  beforeAll(async () => {
    server = await startStored(dialect);
    await addEverything(server, { [LONG]: { high_impact: true } });
    agent = await agentSession(server, operatorCard('deployer', [LONG]));
  });
  afterAll(async () => {
    await closeSessions();
    await server.close();
    await Promise.all(receivers.map((r) => r.close()));
    if (server.place.schema) await dropSchema(server.place.schema);
    fs.rmSync(server.place.dataDir, { recursive: true, force: true });
  });

  it('delivers a held call to a webhook within seconds, signed, with the agent, person, tool, risk, reasons, expiry and how to decide', async () => {
    const hook = await receiver();
    const added = await addSink({ name: 'approvers', url: hook.url, key: KEY });
    expect(added).toMatchObject({ name: 'approvers', format: 'json', events: ['approval.requested'], key: 'sealed', status: 'active' });
    expect(JSON.stringify(added)).not.toContain(KEY);

    const held = await hold();
    const [delivery] = await until('the webhook', () => hook.requests.length > 0 && hook.requests);
    expect(verifySignature(KEY, delivery!.body, delivery!.headers['mandate-signature'] as string, new Date())).toBe(true);
    const body = JSON.parse(delivery!.body);
    expect(delivery!.headers['mandate-event-id']).toBe(body.id);
    expect(body).toMatchObject({
      type: 'approval.requested',
      event: {
        id: body.id,
        actor: { agent: 'deployer', person: 'alice@example.com' },
        resource: `everything/${LONG}`,
        status: 'pending',
        reasons: { approval: held.id, message: expect.stringContaining('high-impact') },
        data: { expires_at: held.expiresAt },
      },
      decide: {
        approval: held.id,
        risk: 0,
        expires_at: held.expiresAt,
        cli: { approve: `mandate approvals approve ${held.id}`, deny: `mandate approvals deny ${held.id}` },
        api: { approve: `POST ${server.url}/v1/approvals/${held.id}/approve`, deny: `POST ${server.url}/v1/approvals/${held.id}/deny` },
      },
    });

    const listed = await readJson(await server.api('GET', '/v1/sinks'));
    expect(listed.sinks).toEqual([expect.objectContaining({ name: 'approvers', delivered: 1, lag: { events: 0, oldest: null }, failures: 0, last_error: null })]);
    expect(JSON.stringify(listed)).not.toContain(KEY);
    await addSink({ name: 'slack-like', url: 'https://hooks.slack.com/services/T000/B000/XXXXSECRET', key: KEY, format: 'slack' });
    const shown = await readJson(await server.api('GET', '/v1/sinks/slack-like'));
    expect(shown.url).toBe('https://hooks.slack.com/services/…');
    const trail = await server.ctx.store.db.selectFrom('audit_events').select('body').execute();
    expect(trail.some((e) => e.body.includes('admin.sink_added'))).toBe(true);
    expect(JSON.stringify(trail) + JSON.stringify(shown)).not.toMatch(/XXXXSECRET|whsec-notify/);
    await server.api('DELETE', '/v1/sinks/slack-like');
    expect(server.ctx.store.dialect).toBe(dialect);
    await server.api('DELETE', '/v1/sinks/approvers');
  });

  it('refuses a tampered, re-signed, or replayed delivery', () => {
    const body = JSON.stringify({ id: 'e1', type: 'approval.requested' });
    const now = new Date();
    const header = signatureHeader(KEY, body, now);
    expect(verifySignature(KEY, body, header, now)).toBe(true);
    expect(verifySignature(KEY, body.replace('e1', 'e2'), header, now)).toBe(false);
    expect(verifySignature('another-key-0123456789', body, header, now)).toBe(false);
    expect(verifySignature(KEY, body, header.replace(/v1=./, (m) => (m.endsWith('0') ? 'v1=1' : 'v1=0')), now)).toBe(false);
    expect(verifySignature(KEY, body, header, new Date(now.getTime() + 10 * 60_000))).toBe(false);
    expect(verifySignature(KEY, body, undefined, now)).toBe(false);
  });

  it('speaks Slack and Teams incoming-webhook text naming the agent, person, tool, risk, reasons, expiry and the commands', async () => {
    const hook = await receiver();
    await server.api('PUT', '/v1/secrets/slack_signing', { value: KEY });
    await addSink({ name: 'chat', url: hook.url, format: 'slack', key_secret: 'slack_signing' });
    const held = await hold();
    const [delivery] = await until('the chat webhook', () => hook.requests.length > 0 && hook.requests);
    expect(verifySignature(KEY, delivery!.body, delivery!.headers['mandate-signature'] as string, new Date())).toBe(true);
    const { text, ...rest } = JSON.parse(delivery!.body);
    expect(rest).toEqual({});
    for (const part of ['deployer', 'alice@example.com', `everything/${LONG}`, 'Risk: ', 'Why: ', `Expires: ${held.expiresAt}`, `mandate approvals approve ${held.id}`, `mandate approvals deny ${held.id}`]) expect(text).toContain(part);
    await server.api('DELETE', '/v1/sinks/chat');
  });

  it('keeps the cursor while the receiver fails and delivers the event once it recovers', async () => {
    const hook = await receiver();
    hook.script.push(500, 500);
    await addSink({ name: 'flaky', url: hook.url, key: KEY });
    await hold();
    await until('a failed attempt', () => hook.requests.length >= 1);
    const failing = await until('the failure recorded', async () => {
      const sink = await readJson(await server.api('GET', '/v1/sinks/flaky'));
      return sink.failures >= 1 && sink;
    });
    expect(failing).toMatchObject({ delivered: 0, lag: { events: 1 }, last_error: 'the receiver answered HTTP 500' });
    expect(failing.last_error_at).toEqual(expect.any(String));
    await until('the recovery', () => hook.requests.length >= 3);
    const ids = hook.requests.map((r) => JSON.parse(r.body).id);
    expect(new Set(ids).size).toBe(1);
    const recovered = await until('the cursor moved', async () => {
      const sink = await readJson(await server.api('GET', '/v1/sinks/flaky'));
      return sink.delivered === 1 && sink;
    });
    expect(recovered).toMatchObject({ lag: { events: 0 }, failures: 0 });
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(hook.requests).toHaveLength(3);
    await server.api('DELETE', '/v1/sinks/flaky');
  });

  it('delivers nothing to a paused sink until it is resumed', async () => {
    const hook = await receiver();
    await addSink({ name: 'paused', url: hook.url, key: KEY });
    expect(await readJson(await server.api('POST', '/v1/sinks/paused/pause', {}))).toMatchObject({ status: 'paused' });
    const held = await hold();
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(hook.requests).toHaveLength(0);
    expect(await readJson(await server.api('GET', '/v1/sinks/paused'))).toMatchObject({ lag: { events: 1 } });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toContain('mandate_sink_lag_events{sink="paused"} 1');
    expect(metrics).toContain('mandate_sink_paused{sink="paused"} 1');
    expect(await readJson(await server.api('POST', '/v1/sinks/paused/resume', {}))).toMatchObject({ status: 'active' });
    await until('the resumed delivery', () => hook.requests.length > 0);
    expect(JSON.parse(hook.requests[0]!.body).decide.approval).toBe(held.id);
    await server.api('DELETE', '/v1/sinks/paused');
  });

  it('refuses a sink with a plain-http remote URL, no key, a short key, a missing secret or a taken name; answers 404 for an unknown one', async () => {
    const refused = async (body: object, code: string, status = 400) => {
      const res = await server.api('POST', '/v1/sinks', body);
      expect(res.status).toBe(status);
      expect(await readJson(res)).toMatchObject({ code });
    };
    await refused({ name: 'x', url: 'http://hooks.example.com/x', key: KEY }, 'ERR_SINK_URL');
    await refused({ name: 'x', url: 'https://user:pw@hooks.example.com/x', key: KEY }, 'ERR_SINK_URL');
    await refused({ name: 'x', url: 'https://hooks.example.com/x' }, 'ERR_SINK_KEY');
    await refused({ name: 'x', url: 'https://hooks.example.com/x', key: 'short' }, 'ERR_SINK_KEY');
    await refused({ name: 'x', url: 'https://hooks.example.com/x', key_secret: 'no_such_secret' }, 'ERR_SINK_KEY');
    await refused({ name: 'x', url: 'https://hooks.example.com/x', key: KEY, format: 'xml' }, 'ERR_VALIDATION');
    await addSink({ name: 'taken', url: 'https://hooks.example.com/x', key: KEY });
    await refused({ name: 'taken', url: 'https://hooks.example.com/y', key: KEY }, 'ERR_SINK_EXISTS', 409);
    await server.api('POST', '/v1/sinks/taken/pause', {});
    await server.api('DELETE', '/v1/sinks/taken');
    const res = await server.api('GET', '/v1/sinks/taken');
    expect(res.status).toBe(404);
    expect(await readJson(res)).toMatchObject({ code: 'ERR_SINK_NOT_FOUND' });
  });
});

describe.each(await dialects())('a restart loses no notification (%s)', (dialect) => {
  it('delivers, in order and after a restart, what a receiver that was down missed', async () => {
    const hook = await startReceiver();
    let server = await startStored(dialect);
    try {
      await addEverything(server, { [LONG]: { high_impact: true } });
      const agent = await agentSession(server, operatorCard('deployer', [LONG]));
      hook.script.push(...Array(1000).fill(503));
      expect((await server.api('POST', '/v1/sinks', { name: 'pager', url: hook.url, key: KEY })).status).toBe(201);
      const first = refusalMeta(await agent.call(LONG, { duration: 0.1, steps: 1, note: 'one' }))!.approval!;
      const second = refusalMeta(await agent.call(LONG, { duration: 0.1, steps: 1, note: 'two' }))!.approval!;
      await until('a refused attempt', () => hook.requests.length >= 1);
      await closeSessions();
      await server.close();

      hook.script.length = 0;
      const seen = hook.requests.length;
      server = await startStored(dialect, server.place);
      await until('both deliveries', () => hook.requests.slice(seen).length >= 2);
      const delivered = hook.requests.slice(seen).map((r) => JSON.parse(r.body));
      expect(delivered.map((b) => b.decide.approval)).toEqual([first.id, second.id]);
      for (const r of hook.requests.slice(seen)) expect(verifySignature(KEY, r.body, r.headers['mandate-signature'] as string, new Date())).toBe(true);
      const sink = await until('the cursor at the end', async () => {
        const s = await readJson(await server.api('GET', '/v1/sinks/pager'));
        return s.delivered === 2 && s;
      });
      expect(sink).toMatchObject({ lag: { events: 0 }, failures: 0 });
    } finally {
      await closeSessions();
      await server.close();
      await hook.close();
      if (server.place.schema) await dropSchema(server.place.schema);
      fs.rmSync(server.place.dataDir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!(await dialects()).includes('postgres'))('replicas over PostgreSQL', () => {
  it('deliver each held call once: one replica at a time holds a sink', async () => {
    // A slow receiver: two replicas delivering for one sink would both post while it answers.
    const hook = await startReceiver(300);
    const a = await startStored('postgres');
    const b = await startStored('postgres', a.place);
    try {
      await addEverything(a, { [LONG]: { high_impact: true } });
      const agent = await agentSession(a, operatorCard('deployer', [LONG]));
      expect((await b.api('POST', '/v1/sinks', { name: 'shared', url: hook.url, key: KEY })).status).toBe(201);
      const held: string[] = [];
      for (let i = 0; i < 6; i++) held.push(refusalMeta(await agent.call(LONG, { duration: 0.1, steps: 1, note: `replica ${i}` }))!.approval!.id);
      await until('every delivery', () => hook.requests.length >= held.length, 15_000);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(hook.requests.map((r) => JSON.parse(r.body).decide.approval)).toEqual(held);
      const views = await Promise.all([a, b].map(async (s) => readJson(await s.api('GET', '/v1/sinks/shared'))));
      for (const view of views) expect(view).toMatchObject({ delivered: held.length, lag: { events: 0 } });
    } finally {
      await closeSessions();
      await b.close();
      await a.close();
      await hook.close();
      await dropSchema(a.place.schema!);
      fs.rmSync(a.place.dataDir, { recursive: true, force: true });
    }
  });
});
