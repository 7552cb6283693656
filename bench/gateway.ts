// MCP tools/call round trip through the gateway (mandate + DPoP + governance + Cedar + durable
// audit) versus directly to the same upstream server on the same transport (Streamable HTTP on
// loopback, the upstream in its own process), in the same run; then calls/s with 50 concurrent
// clients through the gateway and directly. Run: node bench/gateway.ts  (BENCH_CALLS, BENCH_SECONDS; BENCH_DATABASE_URL for PostgreSQL;
// BENCH_TRAIL_SINKS=on streams the trail to a syslog and a NATS JetStream sink during the run)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import pino from 'pino';
import { echoLoad } from './mcp-load.ts';
import { loadConfig } from '../src/config/schema.ts';
import { benchStore } from './bench-store.ts';
import { sha256Hex } from '../src/sdk/manifest.ts';
import { AgentRuntime } from '../src/sdk/runtime.ts';
import { startServer } from '../src/server/serve.ts';
import { addedAtMost, atLeast, either, ratioAtLeast, report, row } from './summary.ts';

const CALLS = Number(process.env.BENCH_CALLS ?? 300);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONCURRENCY = 50;
const TRAIL_SINKS = process.env.BENCH_TRAIL_SINKS === 'on';
const EVERYTHING = fileURLToPath(new URL('../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url));

/** A free loopback port (the upstream takes its port from PORT and does not report port 0's pick). */
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
    probe.on('error', reject);
  });

/**
 * Two trail sinks the server streams to while it is measured: syslog over TCP to a receiver that
 * drops what it reads, and NATS JetStream to a server of the bench's own (skipped without one).
 */
async function streamToTwoSinks(admin: (method: string, route: string, body?: unknown) => Promise<Record<string, unknown>>): Promise<string> {
  const syslogPort = await freePort();
  const receiver = spawn(process.execPath, ['-e', `require('net').createServer((s) => s.on('data', () => {})).listen(${syslogPort}, '127.0.0.1')`], { stdio: 'ignore' });
  process.once('exit', () => receiver.kill());
  const sinks: unknown[] = [{ name: 'bench-syslog', kind: 'syslog-tcp', settings: { address: `127.0.0.1:${syslogPort}` } }];
  const natsServer = ['/usr/sbin/nats-server', '/usr/bin/nats-server'].find((p) => fs.existsSync(p));
  if (natsServer) {
    const natsPort = await freePort();
    const natsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mandate-bench-gw-nats-'));
    const nats = spawn(natsServer, ['-a', '127.0.0.1', '-p', String(natsPort), '-js', '-sd', natsDir], { stdio: 'ignore' });
    process.once('exit', () => {
      nats.kill();
      fs.rmSync(natsDir, { recursive: true, force: true });
    });
    sinks.push({ name: 'bench-nats', kind: 'nats-jetstream', settings: { servers: [`nats://127.0.0.1:${natsPort}`], subject: 'mandate.trail', stream: 'MANDATE_TRAIL' } });
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
  for (const sink of sinks) await admin('POST', '/v1/trail/sinks', sink);
  console.log(`streaming the trail to ${sinks.length} trail sinks during the run`);
  return ` with ${sinks.length} trail sinks`;
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
/**
 * `n` sequential calls on each client, alternating one and the other, so background load on a
 * shared machine falls on both alike; each list comes back sorted.
 */
async function timeCalls(clients: Client[], n: number): Promise<number[][]> {
  const ms = clients.map(() => [] as number[]);
  for (let i = 0; i < n; i++) {
    for (const [k, client] of clients.entries()) {
      const t = performance.now();
      await client.callTool({ name: 'echo', arguments: { message: `m${i}` } });
      ms[k]!.push(performance.now() - t);
    }
  }
  return ms.map((list) => list.sort((a, b) => a - b));
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mandate-bench-gw-'));
// Rate limits off (0) so the load is measured, not throttled; every other check stays on.
fs.writeFileSync(path.join(dataDir, 'governance.yaml'), 'rateLimits:\n  instance: { limit: 0 }\n  agent: { limit: 0 }\n  person: { limit: 0 }\nbehavior:\n  burst: { enabled: false }\n');
const upstreamPort = await freePort();
const upstream = spawn(process.execPath, [EVERYTHING, 'streamableHttp'], { env: { ...process.env, PORT: String(upstreamPort) }, stdio: ['ignore', 'ignore', 'pipe'] });
await new Promise<void>((resolve, reject) => {
  let seen = '';
  upstream.stderr.on('data', (chunk: Buffer) => {
    seen += chunk.toString();
    if (seen.includes('listening')) resolve();
  });
  upstream.once('exit', (code) => reject(new Error(`upstream exited ${code}: ${seen}`)));
});
process.once('exit', () => upstream.kill());
const upstreamUrl = `http://127.0.0.1:${upstreamPort}/mcp`;
const store = benchStore();
const server = await startServer(loadConfig({ dataDir, port: 0, devIssuerProd: true, logLevel: 'silent', ...(store.databaseUrl ? { databaseUrl: store.databaseUrl } : {}) }, {}), {
  logger: pino({ level: 'silent' }),
  ...(store.pgSchema ? { pgSchema: store.pgSchema } : {}),
});
try {
  const admin = (method: string, route: string, body?: unknown) =>
    fetch(`${server.url}${route}`, { method, headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) }).then((r) => r.json() as Promise<Record<string, unknown>>);
  const code = sha256Hex('bench');
  await admin('POST', '/v1/agents', { id: 'bench-bot', name: 'Bench', owner: 'alice@example.com', roles: ['operator'], code_hashes: [code], toolset: ['tool:everything/*'], default_budget: 1e12 });
  await admin('POST', '/v1/servers', { name: 'everything', transport: 'http', url: upstreamUrl });
  const join = await admin('POST', '/v1/agents/bench-bot/join-tokens', { uses: 1 });
  const runtime = await AgentRuntime.bootstrap(server.url, { agent_id: 'bench-bot', join_token: String(join.token), code_hash: code, environment: 'dev' });
  const person = await admin('POST', '/v1/users/token', { subject: 'alice@example.com' });
  const resource = `${server.url}/mcp/everything`;
  const sinksTag = TRAIL_SINKS ? await streamToTwoSinks(admin) : '';
  const mandate = await runtime.obtainMandate({ subjectToken: String(person.token), scope: 'tool:everything/echo', resource, task: { budget: 1e12 } });

  const direct = new Client({ name: 'direct', version: '1' });
  await direct.connect(new StreamableHTTPClientTransport(new URL(upstreamUrl)));
  const gated = new Client({ name: 'gated', version: '1' });
  await gated.connect(new StreamableHTTPClientTransport(new URL(resource), { fetch: runtime.fetchWith(mandate) }));
  await timeCalls([direct, gated], 30);
  const [d, g] = (await timeCalls([direct, gated], CALLS)) as [number[], number[]];
  console.log(`tools/call echo, ${CALLS} sequential calls each, direct and gateway alternating`);
  console.log(`  direct               p50 ${pct(d, 0.5).toFixed(2)} ms  p99 ${pct(d, 0.99).toFixed(2)} ms`);
  console.log(`  through the gateway  p50 ${pct(g, 0.5).toFixed(2)} ms  p99 ${pct(g, 0.99).toFixed(2)} ms`);
  console.log(`  added by Mandate     p50 ${(pct(g, 0.5) - pct(d, 0.5)).toFixed(2)} ms  p99 ${(pct(g, 0.99) - pct(d, 0.99)).toFixed(2)} ms  (ratio p50 ${(pct(g, 0.5) / pct(d, 0.5)).toFixed(1)}x)`);
  await direct.close();

  /** Calls/s with CONCURRENCY clients, each its own MCP session, for SECONDS. */
  const throughput = async (open: () => Promise<Client>) => echoLoad(await Promise.all(Array.from({ length: CONCURRENCY }, open)), SECONDS);
  const connect = (url: string, fetchWith?: typeof fetch) => async () => {
    const c = new Client({ name: 'load', version: '1' });
    await c.connect(new StreamableHTTPClientTransport(new URL(url), fetchWith ? { fetch: fetchWith } : {}));
    return c;
  };
  const directLoad = await throughput(connect(upstreamUrl));
  const gatedLoad = await throughput(connect(resource, runtime.fetchWith(mandate)));
  console.log(`${CONCURRENCY} concurrent clients, ${SECONDS} s each`);
  console.log(`  direct               ${directLoad.rate.toFixed(0)} calls/s (${directLoad.failed} failed)`);
  console.log(`  through the gateway  ${gatedLoad.rate.toFixed(0)} calls/s (${gatedLoad.failed} refused or failed)`);
  await gated.close();
  if (TRAIL_SINKS) {
    const { sinks } = (await fetch(`${server.url}/v1/trail/sinks`, { headers: { authorization: `Bearer ${server.adminToken}` } }).then((r) => r.json())) as { sinks: Array<{ name: string; delivered: number; lag: { events: number }; errors: number }> };
    for (const sink of sinks) console.log(`  trail sink ${sink.name}: ${sink.delivered} events delivered, ${sink.lag.events} waiting, ${sink.errors} failed attempts`);
  }

  report([
    row(`gateway MCP tools/call p50, sequential${store.tag}${sinksTag}`, pct(g, 0.5), 'ms', pct(d, 0.5), addedAtMost(0.5, 'ms')),
    row(`gateway MCP tools/call p99, sequential${store.tag}${sinksTag}`, pct(g, 0.99), 'ms', pct(d, 0.99), addedAtMost(2, 'ms')),
    row(`gateway MCP tools/call, ${CONCURRENCY} clients${store.tag}${sinksTag}`, gatedLoad.rate, '/s', directLoad.rate, either(atLeast(4000, '/s'), ratioAtLeast(0.5))),
  ]);
} finally {
  await server.close();
  upstream.kill();
  fs.rmSync(dataDir, { recursive: true, force: true });
  await store.drop();
}
