import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRole, dropRole } from '../src/broker/postgres/roles.ts';
import { databaseRolesRepository } from '../src/store/repositories/database-roles.ts';
import { addEverything } from './governance.kit.ts';
import { dialects, PG_URL, postgresAvailable, readJson } from './harness.ts';
import { cli, startStored, type StoredServer, trailOf } from './reviews.kit.ts';

// Made-up credentials in recognised formats; none may ever reach the store, an answer or the trail.
const GITHUB = `ghp_${'Q7w8E9r0T1'.repeat(3)}zYxW`;
const OPENAI = `sk-proj-${'Hk3Jd9Ls2Pq'.repeat(3)}`;
const PG = await postgresAvailable();

/**
 * Shadow-agent discovery, scanner by scanner, on real inputs: MCP client config files the test
 * writes, PostgreSQL login roles it creates, and clients it sends to the gateway and the broker
 * without a valid mandate. Then the queue: claim (a draft agent card) and dismiss (with a reason).
 */
describe.each(await dialects())('shadow-agent discovery on %s', (dialect) => {
  // Login roles are global to the PostgreSQL cluster: each run names its own.
  const tag = crypto.randomBytes(4).toString('hex');
  const SHADOW = `shadow_${tag}`;
  const ALLOWED = `reporting_${tag}`;
  const UNTRACKED = `mandate_${crypto.randomBytes(12).toString('hex')}`;
  const TRACKED = `mandate_${crypto.randomBytes(12).toString('hex')}`;
  let server: StoredServer;
  let admin: pg.Client;
  const secretsOf = async () => JSON.stringify([await readJson(await server.api('GET', '/v1/findings?status=open')), await trailOf(server, 'lifecycle.finding_reported')]);

  beforeAll(async () => {
    server = await startStored(dialect, { discoveryAllowRoles: ALLOWED });
    await addEverything(server);
    expect((await server.api('PUT', '/v1/secrets/warehouse_dsn', { value: PG_URL })).status).toBe(200);
    const added = await server.api('POST', '/v1/connections', { name: 'warehouse', type: 'postgres', dsn_secret: 'warehouse_dsn', grant_template: 'GRANT CONNECT ON DATABASE test TO {{role}}' });
    expect(added.status, await added.clone().text()).toBe(201);
    admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
  });
  afterAll(async () => {
    if (admin) {
      const pool = new pg.Pool({ connectionString: PG_URL, max: 1 });
      const client = await pool.connect();
      for (const role of [UNTRACKED, TRACKED]) await dropRole(client, role);
      client.release();
      await pool.end();
      for (const role of [SHADOW, ALLOWED, `${SHADOW}_nologin`]) await admin.query(`DROP ROLE IF EXISTS "${role}"`);
      await admin.end();
    }
    await server?.close();
  });

  it('finds MCP servers and inline credentials in client configs from the CLI, storing neither key', async () => {
    const repo = path.join(server.dataDir, 'checkout');
    fs.mkdirSync(path.join(repo, '.cursor'), { recursive: true });
    fs.writeFileSync(path.join(repo, '.mcp.json'), JSON.stringify({ mcpServers: { github: { command: 'npx', args: ['server-github'], env: { GITHUB_TOKEN: GITHUB } }, governed: { url: `${server.url}/mcp/everything` } } }));
    fs.writeFileSync(path.join(repo, '.cursor', 'mcp.json'), JSON.stringify({ mcpServers: { crm: { url: 'https://crm.example.com/mcp', headers: { Authorization: `Bearer ${OPENAI}` } } } }));
    const mandate = cli(server);
    const first = await mandate(['--json', 'discover', repo, '--no-home', '--no-server']);
    expect(first, first.stderr).toMatchObject({ code: 0 });
    const report = JSON.parse(first.stdout);
    expect(report).toMatchObject({ files: 2, new: 4, seen_again: 0 });
    expect(report.findings.map((f: { kind: string }) => f.kind).sort()).toEqual(['inline-credential', 'inline-credential', 'mcp-server', 'mcp-server']);
    const credential = report.findings.find((f: { title: string }) => f.title.startsWith('github'));
    expect(credential.detail.credential).toEqual({ type: 'github', hint: `ghp_…${GITHUB.slice(-4)}`, fingerprint: expect.stringMatching(/^hmac-sha256:[0-9a-f]{64}$/) });
    // The server reached through Mandate's gateway is not a shadow.
    expect(JSON.stringify(report.findings)).not.toContain('governed');

    const again = JSON.parse((await mandate(['--json', 'discover', repo, '--no-home', '--no-server'])).stdout);
    expect(again).toMatchObject({ new: 0, seen_again: 4 });
    expect((await readJson(await server.api('GET', '/v1/findings?scanner=mcp-config'))).findings.every((f: { seen: number }) => f.seen === 2)).toBe(true);

    const everything = `${first.stdout}${again.stdout}${await secretsOf()}`;
    expect(everything).not.toContain(GITHUB);
    expect(everything).not.toContain(OPENAI);
  });

  it('refuses a reported finding that smuggles a credential in clear, and cleans one hidden in a title', async () => {
    const smuggled = await server.api('POST', '/v1/findings', { findings: [{ scanner: 'mcp-config', kind: 'inline-credential', severity: 'high', source: '/x/.mcp.json', title: 't', key: 'a'.repeat(64), detail: {}, credential: { sha256: 'b'.repeat(64), hint: GITHUB, type: 'github' } }] });
    expect(smuggled.status).toBe(400);
    expect(await readJson(smuggled)).toMatchObject({ code: 'ERR_VALIDATION' });
    const hidden = await readJson(await server.api('POST', '/v1/findings', { findings: [{ scanner: 'mcp-config', kind: 'mcp-server', severity: 'low', source: '/x/.mcp.json', title: `server with ${OPENAI}`, key: 'c'.repeat(64), detail: { command: `run --key ${OPENAI}` } }] }));
    expect(JSON.stringify(hidden)).not.toContain(OPENAI);
    expect(hidden.findings[0].title).toContain(`sk-proj-…${OPENAI.slice(-4)}`);
  });

  it.runIf(PG)('finds PostgreSQL logins Mandate did not create, past its own roles and the allow list', async () => {
    await admin.query(`CREATE ROLE "${SHADOW}" LOGIN PASSWORD 'x-${tag}'`);
    await admin.query(`CREATE ROLE "${ALLOWED}" LOGIN`);
    await admin.query(`CREATE ROLE "${UNTRACKED}" LOGIN`);
    await admin.query(`CREATE ROLE "${SHADOW}_nologin" NOLOGIN`);
    // A role the broker made for a live mandate, made and recorded the way the broker does.
    const pooled = new pg.Pool({ connectionString: PG_URL, max: 1 });
    const client = await pooled.connect();
    await createRole(client, { role: TRACKED, password: 'p', validUntil: new Date(Date.now() + 3_600_000), grantTemplate: 'GRANT CONNECT ON DATABASE test TO {{role}}' });
    client.release();
    await pooled.end();
    await databaseRolesRepository(server.ctx.store.db).claim({ connection: 'warehouse', jti: `jti-${tag}`, role: TRACKED, password_sealed: 'x', status: 'ready', expires_at: new Date(Date.now() + 3_600_000).toISOString(), created_at: new Date().toISOString() });

    const res = await server.api('POST', '/v1/findings/scan', { scanners: ['postgres-login'] });
    expect(res.status, await res.clone().text()).toBe(200);
    const scan = await readJson(res);
    expect(scan.scanners['postgres-login'].connections).toEqual(['warehouse']);
    const roles = scan.findings.map((f: { detail: { role: string } }) => f.detail.role);
    expect(roles).toContain(SHADOW);
    expect(roles).toContain(UNTRACKED);
    expect(roles).not.toContain(ALLOWED);
    expect(roles).not.toContain(TRACKED);
    expect(roles).not.toContain(`${SHADOW}_nologin`);
    expect(roles).not.toContain('postgres');
    expect(scan.findings.find((f: { detail: { role: string } }) => f.detail.role === UNTRACKED).kind).toBe('untracked-dynamic-role');
  });

  it('fails the scan closed when a database cannot be reached, without naming its credentials', async () => {
    expect((await server.api('PUT', '/v1/secrets/broken_dsn', { value: 'postgres://scanner:hunter2-secret@127.0.0.1:1/test' })).status).toBe(200);
    expect((await server.api('POST', '/v1/connections', { name: 'broken', type: 'postgres', dsn_secret: 'broken_dsn', grant_template: 'GRANT CONNECT ON DATABASE test TO {{role}}' })).status).toBe(201);
    const before = (await readJson(await server.api('GET', '/v1/findings?scanner=postgres-login'))).findings.length;
    const res = await server.api('POST', '/v1/findings/scan', { scanners: ['postgres-login'] });
    const body = await res.text();
    expect(res.status, body).toBe(502);
    expect(JSON.parse(body)).toMatchObject({ code: 'ERR_DISCOVERY_UNAVAILABLE' });
    expect(body).not.toContain('hunter2');
    expect(body).not.toContain('scanner:');
    expect((await readJson(await server.api('GET', '/v1/findings?scanner=postgres-login'))).findings).toHaveLength(before);
    expect((await server.api('DELETE', '/v1/connections/broken')).status).toBe(204);
  });

  it('groups clients refused at the gateway and the broker by source', async () => {
    const knock = (url: string, agent: string, auth?: string) => fetch(url, { method: 'POST', headers: { 'user-agent': agent, 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) }, body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' });
    for (let i = 0; i < 3; i++) expect((await knock(`${server.url}/mcp/everything`, 'shadow-agent/1.0')).status).toBe(401);
    expect((await knock(`${server.url}/mcp/everything`, 'forged/2.0', 'DPoP eyJhbGciOiJub25lIn0.e30.')).status).toBe(401);
    expect((await knock(`${server.url}/broker/warehouse/query`, 'shadow-agent/1.0')).status).toBe(401);
    expect((await knock(`${server.url}/mcp/no-such-server`, 'scanner/0.1')).status).toBe(404);

    const scan = await readJson(await server.api('POST', '/v1/findings/scan', { scanners: ['refused-client'], since: '1h' }));
    const bySource = Object.fromEntries(scan.findings.map((f: { source: string; detail: object }) => [f.source, f.detail]));
    expect(Object.keys(bySource).sort()).toEqual(['127.0.0.1 (forged/2.0)', '127.0.0.1 (shadow-agent/1.0)']);
    expect(bySource['127.0.0.1 (shadow-agent/1.0)']).toMatchObject({ attempts: 4, resources: ['http:warehouse', 'mcp:everything'] });
    expect(bySource['127.0.0.1 (forged/2.0)']).toMatchObject({ attempts: 1, resources: ['mcp:everything'] });
  });

  it('claims a finding as a draft agent card with an owner, and dismisses another only with a reason', async () => {
    const open = (await readJson(await server.api('GET', '/v1/findings?scanner=mcp-config'))).findings;
    const [first, second] = open as Array<{ id: string }>;
    const claim = await server.api('POST', `/v1/findings/${first!.id}/claim`, { agent_id: 'github-helper', owner: 'carol@example.com' });
    expect(claim.status, await claim.clone().text()).toBe(201);
    expect(await readJson(await server.api('GET', '/v1/agents/github-helper'))).toMatchObject({ status: 'draft', owner: 'carol@example.com', toolset: [] });
    expect(await readJson(await server.api('GET', `/v1/findings/${first!.id}`))).toMatchObject({ status: 'claimed', agent: 'github-helper', owner: 'carol@example.com', decided_by: expect.any(String) });
    const twice = await server.api('POST', `/v1/findings/${first!.id}/dismiss`, { reason: 'changed my mind' });
    expect(twice.status).toBe(409);
    expect(await readJson(twice)).toMatchObject({ code: 'ERR_FINDING_DECIDED' });
    // A draft becomes active only when an operator resumes it.
    expect((await readJson(await server.api('POST', '/v1/agents/github-helper/resume', {}))).status).toBe('active');

    const bare = await server.api('POST', `/v1/findings/${second!.id}/dismiss`, {});
    expect(bare.status).toBe(400);
    expect((await readJson(await server.api('GET', `/v1/findings/${second!.id}`))).status).toBe('open');
    const mandate = cli(server);
    const noReason = await mandate(['findings', 'dismiss', second!.id]);
    expect(noReason.code).toBe(2);
    const dismissed = await mandate(['findings', 'dismiss', second!.id, '--reason', 'a test fixture, not an agent']);
    expect(dismissed, dismissed.stderr).toMatchObject({ code: 0 });
    expect((await trailOf(server, 'lifecycle.finding_dismissed')).map((e) => e.reasons.message)).toEqual(['a test fixture, not an agent']);
    expect((await trailOf(server, 'lifecycle.finding_claimed'))[0]).toMatchObject({ actor: { agent: 'github-helper' }, data: { finding: first!.id } });
    const listed = await mandate(['findings', 'list', '--all']);
    expect(listed.stdout).toMatch(/claimed/);
    expect(listed.stdout).toMatch(/dismissed/);

    const missing = await server.api('POST', '/v1/findings/fnd_0000/claim', { agent_id: 'x', owner: 'y' });
    expect(missing.status).toBe(404);
    expect(await readJson(missing)).toMatchObject({ code: 'ERR_FINDING_NOT_FOUND' });
  });
});
