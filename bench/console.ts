// The console's server-side figures at scale: keyset pages of the audit trail (newest first, deep
// in, filtered) over BENCH_EVENTS events, the agents list with BENCH_AGENTS agents, and, when
// Chromium is installed, the agents page rendered and filtered in the browser.
// Run: node bench/console.ts   (BENCH_EVENTS=1000000 BENCH_AGENTS=10000 by default)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { chromium } from 'playwright-core';
import { draftAt } from '../src/audit/testdata/events.ts';
import { loadConfig } from '../src/config/schema.ts';
import { startServer } from '../src/server/serve.ts';
import { benchStore } from './bench-store.ts';
import { atMost, report, row } from './summary.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const AGENTS = Number(process.env.BENCH_AGENTS ?? 10_000);
const SAMPLES = 30;
const CHROMIUM = '/usr/bin/chromium';

const bench = benchStore();
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mandate-bench-console-'));
const config = loadConfig({ dataDir, port: 0, logLevel: 'silent', ...(bench.databaseUrl ? { databaseUrl: bench.databaseUrl } : {}) }, {});
const server = await startServer(config, { logger: pino({ level: 'silent' }), ...(bench.pgSchema ? { pgSchema: bench.pgSchema } : {}) });
const token = server.adminToken!;
const api = (method: string, route: string, body?: unknown) =>
  fetch(`${server.url}${route}`, { method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

try {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 256 }, async () => {
      while (next < EVENTS) {
        const i = next++;
        await server.ctx.audit.append(draftAt(`instance:c${i % 500}`, Math.floor(i / 500) + 1));
      }
    }),
  );
  console.log(`${EVENTS.toLocaleString('en-US')} events appended in ${((performance.now() - started) / 1000).toFixed(1)} s${bench.tag}`);

  /** Median milliseconds a request takes, over loopback HTTP (server time plus the loopback hop). */
  const median = async (route: string) => {
    const samples: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const t = performance.now();
      const res = await api('GET', route);
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`${route}: ${res.status}`);
      samples.push(performance.now() - t);
    }
    samples.sort((a, b) => a - b);
    return samples[Math.floor(samples.length / 2)]!;
  };
  const cursorAt = (leaf: number) => Buffer.from(`l${leaf}`).toString('base64url');
  const baseline = await median('/healthz');
  const newest = await median('/v1/audit/events?order=desc&limit=50');
  const middle = await median(`/v1/audit/events?order=desc&limit=50&cursor=${cursorAt(Math.floor(EVENTS / 2))}`);
  const filtered = await median('/v1/audit/events?order=desc&limit=50&instance=c250&decision=deny');
  const decisions = await median('/v1/audit/decisions?since=15m');
  for (const [label, ms] of [['newest page', newest], ['a page half-way back', middle], ['a filtered page (instance, decision)', filtered], ['decisions per minute (15 min)', decisions]] as const) {
    console.log(`audit ${label.padEnd(40)} ${ms.toFixed(1).padStart(7)} ms median (GET /healthz ${baseline.toFixed(1)} ms)`);
  }

  for (let i = 0; i < AGENTS; i += 1000) {
    const batch = Array.from({ length: Math.min(1000, AGENTS - i) }, (_, j) => ({ id: `agent-${String(i + j).padStart(5, '0')}`, name: `Agent ${i + j}`, owner: `owner${(i + j) % 40}@example.com`, environment: ['dev', 'staging', 'prod'][(i + j) % 3], code_hashes: [`sha256:${'c0de'.repeat(16)}`], toolset: ['tool:everything/echo'] }));
    const res = await api('PUT', '/v1/agents', batch);
    if (!res.ok) throw new Error(`apply agents: ${res.status} ${await res.text()}`);
  }
  const agents = await median('/v1/agents');
  console.log(`GET /v1/agents with ${AGENTS.toLocaleString('en-US')} agents ${agents.toFixed(1).padStart(7)} ms median`);

  const rows = [
    row(`console: newest audit page of ${EVENTS.toLocaleString('en-US')} events${bench.tag}`, newest, 'ms', baseline, atMost(100, 'ms')),
    row(`console: audit page half-way back (keyset)${bench.tag}`, middle, 'ms', baseline, atMost(100, 'ms')),
    row(`console: filtered audit page${bench.tag}`, filtered, 'ms', baseline, atMost(100, 'ms')),
    row(`console: agents list, ${AGENTS.toLocaleString('en-US')} agents${bench.tag}`, agents, 'ms', baseline, null),
  ];

  if (fs.existsSync(CHROMIUM)) {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
    try {
      const context = await browser.newContext();
      const signIn = await fetch(`${server.url}/v1/console/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
      const [pair] = signIn.headers.get('set-cookie')!.split(';');
      const [name, value] = pair!.split('=');
      await context.addCookies([{ name: name!, value: value!, url: server.url }]);
      const page = await context.newPage();
      const t0 = performance.now();
      await page.goto(`${server.url}/console/agents`);
      await page.locator('tr[data-agent]').first().waitFor();
      const shown = performance.now() - t0;
      const t1 = performance.now();
      await page.getByLabel('Filter').fill('agent-0019');
      await page.locator('tr[data-agent="agent-00199"]').waitFor();
      await page.waitForFunction(() => (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll('tr[data-agent]').length === 10);
      const filteredIn = performance.now() - t1;
      console.log(`browser: agents page shown in ${shown.toFixed(0)} ms, filtered to 10 rows in ${filteredIn.toFixed(0)} ms`);
      rows.push(row(`console: agents page shown in Chromium, ${AGENTS.toLocaleString('en-US')} agents${bench.tag}`, shown, 'ms', null, null));
      rows.push(row(`console: agents filter answered in Chromium${bench.tag}`, filteredIn, 'ms', null, atMost(250, 'ms')));
    } finally {
      await browser.close();
    }
  }
  report(rows);
} finally {
  await server.close();
  await bench.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
