import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addEverything, agentSession, closeSessions, operatorCard, text } from './governance.kit.ts';
import { dialects, readJson } from './harness.ts';
import { cli, operatorToken, startStored, type StoredServer } from './reviews.kit.ts';

const DAY = 86_400_000;

/**
 * The hygiene report over a real registry, trail and queues: what is wrong on the first day, what
 * went wrong forty days later (the trend), and the same report as CSV and HTML from the CLI.
 */
describe.each(await dialects())('the hygiene report on %s', (dialect) => {
  let server: StoredServer;
  let first: Record<string, any>;

  beforeAll(async () => {
    server = await startStored(dialect, { reviewCheckInterval: 0 });
    await operatorToken(server, 'alice', 'alice@example.com', ['owner']);
    await addEverything(server);
    const owned = await agentSession(server, operatorCard('owned-bot', ['echo', 'get-sum']));
    expect(text(await owned.call('echo', { message: 'hi' }))).toContain('hi');
    await closeSessions();
    for (const card of [operatorCard('no-owner-bot', ['echo'], { owner: null }), operatorCard('orphan-bot', ['echo'], { owner: 'gone@example.com' })]) {
      expect((await server.api('POST', '/v1/agents', card)).status).toBe(201);
    }
    expect((await server.api('PUT', '/v1/secrets/crm_token', { value: 'crm-0123456789abcdef' })).status).toBe(200);
  });
  afterAll(async () => {
    await closeSessions();
    await server?.close();
  });

  it('counts agents without owner and orphaned ones on the first day, and nothing old yet', async () => {
    const res = await server.api('GET', '/v1/reports/hygiene');
    expect(res.status).toBe(200);
    first = await readJson(res);
    expect(first.counts).toEqual({ agents: 3, without_owner: 1, orphaned: 1, stale: 0, over_privileged: 0, old_secrets: 0, old_signing_keys: 0, open_findings: 0, overdue_reviews: 0 });
    expect(first.without_owner).toEqual([{ agent: 'no-owner-bot', environment: 'dev', status: 'active' }]);
    expect(first.orphaned).toEqual([{ agent: 'orphan-bot', owner: 'gone@example.com', environment: 'dev' }]);
    expect(first.trend).toMatchObject({ previous_at: null, delta: {} });
  });

  it('forty days later: stale and over-privileged agents, old secret and key, an open finding, an overdue review, and the trend', async () => {
    const finding = { scanner: 'mcp-config', kind: 'mcp-server', severity: 'medium', source: '/repo/.mcp.json', title: 'cursor reaches <img src=x onerror=alert(1)> directly', key: 'd'.repeat(64), detail: {} };
    expect((await server.api('POST', '/v1/findings', { findings: [finding] })).status).toBe(200);
    expect((await server.api('POST', '/v1/reviews', { due: '1d' })).status).toBe(201);
    server.clock.advance(40 * DAY);
    const report = await readJson(await server.api('GET', '/v1/reports/hygiene?stale_days=30&max_key_age_days=30'));
    expect(report.counts).toEqual({ agents: 3, without_owner: 1, orphaned: 1, stale: 3, over_privileged: 3, old_secrets: 1, old_signing_keys: 1, open_findings: 1, overdue_reviews: 3 });
    expect(report.stale.find((s: { agent: string }) => s.agent === 'owned-bot').last_activity).toEqual(expect.any(String));
    expect(report.stale.find((s: { agent: string }) => s.agent === 'no-owner-bot').last_activity).toBeNull();
    expect(report.over_privileged.find((s: { agent: string }) => s.agent === 'owned-bot')).toMatchObject({ granted: 2, unused: ['tool:everything/echo', 'tool:everything/get-sum'] });
    expect(report.old_secrets).toEqual([expect.objectContaining({ name: 'crm_token', age_days: 40 })]);
    expect(report.trend).toMatchObject({ previous_at: first.generated_at.slice(0, 10), delta: { agents: 0, stale: 3, open_findings: 1, overdue_reviews: 3, without_owner: 0 } });
    expect(report.trend.history).toHaveLength(2);
    expect(JSON.stringify(report)).not.toContain('crm-0123456789abcdef');
  });

  it('serves the report as an HTML page that runs no script, and refuses an unknown format', async () => {
    const headers = await server.api('GET', '/v1/reports/hygiene?format=html');
    expect(headers.headers.get('content-type')).toMatch(/^text\/html/);
    expect(headers.headers.get('content-security-policy')).toBe("default-src 'none'; style-src 'unsafe-inline'");
    expect(await headers.text()).not.toContain('<img');
    const csv = await server.api('GET', '/v1/reports/hygiene?format=csv');
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const bad = await server.api('GET', '/v1/reports/hygiene?format=pdf');
    expect(bad.status).toBe(400);
    expect(await readJson(bad)).toMatchObject({ code: 'ERR_VALIDATION' });
  });

  // The CLI is a client of the same API: once is enough.
  it.runIf(dialect === 'sqlite')('renders the same report as CSV and as an HTML page from the CLI, escaping what it shows', async () => {
    const mandate = cli(server);
    const html = path.join(server.dataDir, 'hygiene.html');
    const csv = path.join(server.dataDir, 'hygiene.csv');
    expect((await mandate(['report', 'hygiene', '--format', 'html', '--out', html, '--stale-days', '30', '--max-key-age', '30'])).code).toBe(0);
    expect((await mandate(['report', 'hygiene', '--format', 'csv', '--out', csv, '--stale-days', '30', '--max-key-age', '30'])).code).toBe(0);
    // MANDATE_CAPTURE_DIR keeps the rendered files for a person to look at.
    if (process.env.MANDATE_CAPTURE_DIR) for (const file of [html, csv]) fs.copyFileSync(file, path.join(process.env.MANDATE_CAPTURE_DIR, `${dialect}-${path.basename(file)}`));
    const page = fs.readFileSync(html, 'utf8');
    expect(page).toContain('<h1>Mandate hygiene report</h1>');
    expect(page).toMatch(/Open discovery findings <span class="count">1<\/span>/);
    expect(page).not.toContain('<img');
    expect(page).toContain('&#60;img src=x onerror=alert(1)&#62;');
    const lines = fs.readFileSync(csv, 'utf8').trim().split('\r\n');
    expect(lines[0]).toBe('category,subject,owner,detail,date');
    expect(lines).toContain(`orphaned,orphan-bot,gone@example.com,dev,`);
    expect(lines.find((l) => l.startsWith('count,open_findings,'))).toMatch(/^count,open_findings,,1 \(\+1 since \d{4}-\d{2}-\d{2}\),/);
    expect(lines.filter((l) => l.startsWith('over_privileged,'))).toHaveLength(3);
    const summary = await mandate(['report', 'hygiene']);
    expect(summary.stdout).toMatch(/overdue_reviews\s+3\s+\+3/);
  });
});
