import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import Sqlite from 'better-sqlite3';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyCheckpoint } from '../src/audit/checkpoint.ts';
import { type AuditEvent, eventLeafHash, hashEvent } from '../src/audit/event.ts';
import { verifyInclusion } from '../src/audit/merkle-proof.ts';
import { parseVerifierKey } from '../src/audit/note.ts';
import { digestArguments } from '../src/audit/redact.ts';
import { instanceChain } from '../src/audit/writer.ts';
import { loadConfig } from '../src/config/schema.ts';
import { type RunningServer, startServer } from '../src/server/serve.ts';
import { bootstrap, register, supportBot } from './fixtures.ts';
import { readJson, type TestServer, tempDir } from './harness.ts';

/**
 * Issue 5 end to end: the server writes the trail into its own database, and an investigator
 * queries, exports and verifies it over the API, with the CLI, and offline on the database file.
 */
const BIN = path.resolve(import.meta.dirname, '../bin/mandate.js');
const run = promisify(execFile);

async function mandate(args: string[], env: NodeJS.ProcessEnv) {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('the audit trail of a running server', () => {
  const dataDir = tempDir('mandate-audit-');
  let server: RunningServer;
  let api: TestServer['api'];
  let instanceId: string;

  beforeAll(async () => {
    const config = loadConfig({ dataDir, port: 0, logLevel: 'silent' }, {});
    server = await startServer(config, { logger: pino({ level: 'silent' }) });
    const token = server.adminToken!;
    api = (method, route, body, headers = {}) =>
      fetch(`${server.url}${route}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const asTestServer = { ...server, api } as unknown as TestServer;
    await register(asTestServer, supportBot);
    expect((await api('POST', '/v1/agents/support-bot/suspend')).status).toBe(200);
    expect((await api('POST', '/v1/agents/support-bot/resume')).status).toBe(200);
    const runtime = await bootstrap(asTestServer, 'support-bot');
    instanceId = runtime.instanceId;
  });
  afterAll(async () => {
    await server?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const events = async (query: string): Promise<{ events: Array<{ leaf_index: number; event: AuditEvent }>; next_cursor: string | null }> => {
    const res = await api('GET', `/v1/audit/events?${query}`);
    expect(res.status).toBe(200);
    return readJson(res);
  };

  it('keeps control-plane and instance events in their chains, found by query page by page', async () => {
    const lifecycle = await events('agent=support-bot&type=lifecycle.*');
    expect(lifecycle.events.map((e) => [e.event.chain, e.event.type])).toEqual([
      ['system', 'lifecycle.suspended'],
      ['system', 'lifecycle.resumed'],
    ]);
    const own = await events(`chain=${instanceChain(instanceId)}`);
    expect(own.events.length).toBeGreaterThan(0);
    expect(own.events.every((e) => e.event.actor.instance === instanceId && hashEvent(e.event) === e.event.hash)).toBe(true);
    const first = await events('limit=1');
    const second = await events(`limit=1&cursor=${first.next_cursor}`);
    expect(second.events[0]!.leaf_index).toBe(first.events[0]!.leaf_index + 1);
    expect((await api('GET', '/v1/audit/events?since=tomorrow')).status).toBe(400);
    expect((await api('GET', '/v1/audit/events?since=1h')).status).toBe(200);
  });

  it('seals the chain of a revoked instance; later events about it go to the system chain', async () => {
    expect((await api('POST', `/v1/instances/${instanceId}/revoke`)).status).toBe(200);
    const chain = await events(`chain=${instanceChain(instanceId)}&order=desc&limit=2`);
    expect(chain.events.map((e) => e.event.type)).toEqual(['lifecycle.sealed', 'lifecycle.revoked']);
    expect((await api('POST', `/v1/instances/${instanceId}/revoke`)).status).toBe(200);
    const again = await events(`instance=${instanceId}&order=desc&limit=1`);
    expect(again.events[0]!.event).toMatchObject({ chain: 'system', type: 'lifecycle.revoked' });
  });

  it('publishes signed checkpoints and their verifier key to anyone; proofs verify against them', async () => {
    expect((await api('POST', '/v1/audit/checkpoints')).status).toBe(201);
    const published = await readJson(await fetch(`${server.url}/v1/audit/checkpoints`));
    const verifier = parseVerifierKey(published.vkey);
    const latestNote = await (await fetch(`${server.url}/v1/audit/checkpoint`)).text();
    expect(latestNote).toBe(published.checkpoints[0].note);
    const checkpoint = verifyCheckpoint(latestNote, verifier, { origin: published.origin });
    expect(checkpoint.size).toBe(published.size);

    expect((await fetch(`${server.url}/v1/audit/proof/inclusion?index=0`)).status).toBe(401);
    const target = (await events('limit=1&order=desc')).events[0]!;
    const inclusion = await readJson(await api('GET', `/v1/audit/proof/inclusion?index=${target.leaf_index}`));
    const proof = inclusion.proof.map((p: string) => Buffer.from(p, 'base64'));
    expect(verifyInclusion(target.leaf_index, checkpoint.size, eventLeafHash(target.event), proof, checkpoint.rootHash)).toBe(true);
    const consistency = await api('GET', '/v1/audit/proof/consistency?from=1');
    expect((await readJson(consistency)).to).toBe(checkpoint.size);
    expect((await api('GET', `/v1/audit/proof/consistency?from=1&to=${checkpoint.size + 1000}`)).status).toBe(400);
  });

  it('computes the digest of a known argument object so the events that carried it can be found', async () => {
    const args = { repo: 'acme/api', title: 'rotate the key', token: 'do-not-log' };
    const { args_digest } = digestArguments(args, { key: server.ctx.auditKey, allow: ['repo'] });
    await server.ctx.audit.append({
      chain: 'instance:digest-demo',
      type: 'tool.decision',
      actor: { instance: 'digest-demo', agent: 'support-bot', person: 'alice@example.com', delegation: [] },
      action: 'tools/call',
      resource: 'github/create_issue',
      decision: 'allow',
      status: 'success',
      args_digest,
      args: { repo: 'acme/api' },
    });
    const res = await api('POST', '/v1/audit/digest', { value: args });
    const { digest } = await readJson(res);
    expect(digest).toBe(args_digest);
    expect((await events(`args_digest=${digest}`)).events.map((e) => e.event.resource)).toEqual(['github/create_issue']);
    // Asking is on the record.
    expect((await events('type=admin.digest_computed')).events[0]!.event.resource).toBe(digest);
  });

  it('streams exports as JSON lines, OCSF and CEF', async () => {
    const total = (await events('limit=1000')).events.length;
    const jsonl = await api('GET', '/v1/audit/export?format=jsonl');
    expect(jsonl.headers.get('content-type')).toContain('application/x-ndjson');
    const lines = (await jsonl.text()).trimEnd().split('\n');
    expect(lines).toHaveLength(total);
    expect(lines.every((l) => hashEvent(JSON.parse(l)) === JSON.parse(l).hash)).toBe(true);
    const ocsf = (await (await api('GET', '/v1/audit/export?format=ocsf&type=lifecycle.*')).text()).trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(ocsf.map((e) => e.class_uid)).toContain(3001);
    const cef = await (await api('GET', '/v1/audit/export?format=cef&decision=allow')).text();
    expect(cef.split('\n')[0]).toMatch(/^CEF:0\|Mandate\|Mandate\|/);
    expect((await api('GET', '/v1/audit/export?format=xml')).status).toBe(400);
  });

  it('verifies over the API, with the CLI against the server, and offline on the database file', async () => {
    const verified = await readJson(await api('GET', '/v1/audit/verify'));
    expect(verified).toMatchObject({ ok: true, breaks: [], checkpoints: { verified: 1 } });

    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dataDir, MANDATE_ADDR: server.url, MANDATE_TOKEN: server.adminToken! };
    const saved = path.join(dataDir, 'witness.checkpoint');
    expect((await mandate(['audit', 'checkpoint', '--new', '--out', saved], env)).code).toBe(0);
    const online = await mandate(['audit', 'verify', '--checkpoint', saved], env);
    expect(online.stdout).toMatch(/^audit log verified: \d+ events/);
    expect(online.code).toBe(0);
    await server.close();

    // An investigator with a copy of the database and the master key, no server.
    const copy = tempDir('mandate-evidence-');
    fs.copyFileSync(path.join(dataDir, 'mandate.db'), path.join(copy, 'mandate.db'));
    fs.copyFileSync(path.join(dataDir, 'master.key'), path.join(copy, 'master.key'));
    fs.chmodSync(path.join(copy, 'master.key'), 0o600);
    const offline = await mandate(['audit', 'verify', '--data-dir', copy, '--checkpoint', saved], {});
    expect(offline.stdout).toContain('audit log verified');
    expect(offline.code).toBe(0);

    const db = new Sqlite(path.join(copy, 'mandate.db'));
    const row = db.prepare(`select chain, seq from audit_events where type = 'lifecycle.suspended'`).get() as { chain: string; seq: number };
    db.prepare(`update audit_events set body = replace(body, 'support-bot', 'other-bot') where type = 'lifecycle.suspended'`).run();
    db.close();
    const broken = await mandate(['audit', 'verify', '--data-dir', copy], {});
    expect(broken.code).toBe(3);
    expect(broken.stdout).toContain(`first broken place: chain ${row.chain} seq ${row.seq}`);
    expect(broken.stdout).toContain('modified');
    fs.rmSync(copy, { recursive: true, force: true });
  });
});
