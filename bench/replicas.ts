// Scale-out over one PostgreSQL, with `mandate serve` replicas as separate processes on this machine:
//  1. revocation propagation: revoke a mandate on replica A while a prober calls replica B (which
//     has just seen the mandate live and cached that); median and p99 over many revocations.
//  2. gateway throughput (MCP tools/call echo through /mcp/everything) with 1 replica, then 2,
//     the same number of concurrent clients either way.
// Run: node bench/replicas.ts  (BENCH_DATABASE_URL, BENCH_REVOCATIONS, BENCH_PROBERS, BENCH_SECONDS, BENCH_CLIENTS;
// BENCH_REPLICA_NODE_OPTIONS is given to the replicas as NODE_OPTIONS, e.g. to profile them with
// "--cpu-prof --cpu-prof-dir=<dir>": they write their profiles when they stop)
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import pg from 'pg';
import { sha256Hex } from '../src/sdk/manifest.ts';
import { AgentRuntime, type Mandate } from '../src/sdk/runtime.ts';
import { adminApi, adminTokenOf, brokerCall, clusterEnv, mandateAt as mandateFrom, PUBLIC, type Replica, signedFetch, startReplica, stopReplica } from '../test/replicas.kit.ts';
import { atMost, report, row } from './summary.ts';
import { echoLoad } from './mcp-load.ts';

const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REVOCATIONS = Number(process.env.BENCH_REVOCATIONS ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 32);
const PROBERS = Number(process.env.BENCH_PROBERS ?? 1);
const EVERYTHING = fileURLToPath(new URL('../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url));
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

const schema = `bench_${crypto.randomBytes(4).toString('hex')}`;
const setup = new pg.Client({ connectionString: DATABASE_URL });
try {
  await setup.connect();
} catch (error) {
  console.log(`skipped: replicas need PostgreSQL at ${DATABASE_URL.replace(/\/\/[^@/]*@/, '//')} (${(error as Error).message})`);
  process.exit(0);
}
await setup.query(`CREATE SCHEMA ${schema}`);
const upstreamHits = { n: 0 };
const upstream = http.createServer((_req, res) => {
  upstreamHits.n++;
  res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
});
await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
const upstreamUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
// Replicas as the scale-out tests start them (test/replicas.kit.ts), without rate limits or the burst rule.
const replicaNodeOptions = process.env.BENCH_REPLICA_NODE_OPTIONS;
const env = { ...clusterEnv(DATABASE_URL, schema), MANDATE_LOG_LEVEL: 'error', ...(replicaNodeOptions ? { NODE_OPTIONS: replicaNodeOptions } : {}) };
const replicas: Replica[] = [];
try {
  const a = await startReplica('a', env);
  replicas.push(a);
  const b = await startReplica('b', env);
  replicas.push(b);
  const api = adminApi(adminTokenOf(a));
  const admin = async (at: Replica, method: string, route: string, body?: unknown) => (await (await api(at, method, route, body)).json().catch(() => ({}))) as Record<string, unknown>;
  const code = sha256Hex('bench');
  await admin(a, 'POST', '/v1/agents', { id: 'bench-bot', name: 'Bench', owner: 'alice@example.com', roles: ['operator'], code_hashes: [code], toolset: ['tool:everything/*', 'http:api:*:/**'], default_budget: 1e12 });
  await admin(a, 'POST', '/v1/servers', { name: 'everything', transport: 'stdio', command: [process.execPath, EVERYTHING] });
  await admin(a, 'POST', '/v1/connections', { name: 'api', base_url: upstreamUrl, allow: ['GET /**'] });
  const join = await admin(a, 'POST', '/v1/agents/bench-bot/join-tokens', { uses: 1 });
  const runtime = await AgentRuntime.bootstrap(a.url, { agent_id: 'bench-bot', join_token: String(join.token), code_hash: code, environment: 'dev' });
  const person = String((await admin(a, 'POST', '/v1/users/token', { subject: 'alice@example.com', ttl: 3600 })).token);
  const mandateAt = (at: Replica, scope: string, resource: string) => mandateFrom(at, runtime, { person, scope, resource });
  const probe = (at: Replica, m: Mandate) =>
    brokerCall(at, runtime, m, 'GET', '/broker/api/probe').then(async (r) => {
      await r.arrayBuffer();
      return r.status;
    });

  // 1. Revocation propagation, A → B. A prober calls B back to back while A revokes, so the
  //    first refusal is seen within a fraction of a call of when B starts refusing.
  const firstRefusal: number[] = [];
  const lastAcceptedStart: number[] = [];
  const afterAnswer: number[] = [];
  let probes = 0;
  const probeMs: number[] = [];
  for (let i = 0; i < REVOCATIONS; i++) {
    const m = await mandateAt(a, 'http:api:*:/**', `${PUBLIC}/broker/api`);
    if ((await probe(b, m)) !== 200) throw new Error('warm-up call refused');
    let t0 = Number.POSITIVE_INFINITY;
    let refusedAt = Number.POSITIVE_INFINITY;
    let acceptedStart = Number.NEGATIVE_INFINITY;
    const prober = async () => {
      while (refusedAt === Number.POSITIVE_INFINITY) {
        const started = performance.now();
        const status = await probe(b, m);
        probes++;
        probeMs.push(performance.now() - started);
        if (status === 401) refusedAt = Math.min(refusedAt, performance.now());
        else if (status === 200) acceptedStart = Math.max(acceptedStart, started);
        else throw new Error(`probe answered ${status}`);
        if (started - t0 > 5_000) throw new Error('revocation did not reach replica B within 5 s');
      }
    };
    const probers = Array.from({ length: PROBERS }, prober);
    await new Promise((resolve) => setTimeout(resolve, 5));
    t0 = performance.now();
    await admin(a, 'POST', '/oauth/revoke', new URLSearchParams({ token: m.token }).toString());
    const t1 = performance.now();
    await Promise.all(probers);
    firstRefusal.push(refusedAt - t0);
    lastAcceptedStart.push(Math.max(0, acceptedStart - t0));
    afterAnswer.push(refusedAt - t1);
  }
  for (const list of [firstRefusal, lastAcceptedStart, afterAnswer, probeMs]) list.sort((x, y) => x - y);
  const line = (label: string, list: number[]) => `  ${label.padEnd(44)} p50 ${pct(list, 0.5).toFixed(2)} ms  p99 ${pct(list, 0.99).toFixed(2)} ms  max ${list.at(-1)!.toFixed(2)} ms`;
  console.log(`revocation on A → refusal on B, ${REVOCATIONS} revocations, ${PROBERS} prober(s) calling B throughout (${probes} probe calls)`);
  console.log(`${line('first refusal on B, from sending the revoke', firstRefusal)}  (target p99 ≤ 25 ms)`);
  console.log(line('last call B accepted began, after sending', lastAcceptedStart));
  console.log(line("first refusal on B, after A's answer", afterAnswer));
  console.log(line('one probe call on B (the resolution)', probeMs));

  // 2. Gateway throughput with 1 and 2 replicas, the same clients.
  const mcp = await mandateAt(a, 'tool:everything/echo', `${PUBLIC}/mcp/everything`);
  const clientAt = async (at: Replica) => {
    const c = new Client({ name: 'load', version: '1' });
    await c.connect(new StreamableHTTPClientTransport(new URL(`${at.url}/mcp/everything`), { fetch: signedFetch(runtime, mcp, '/mcp/everything') }));
    return c;
  };
  const load = async (on: Replica[]) => echoLoad(await Promise.all(Array.from({ length: CLIENTS }, (_, i) => clientAt(on[i % on.length]!))), SECONDS);
  const one = await load([a]);
  const two = await load([a, b]);
  console.log(`gateway tools/call, ${CLIENTS} concurrent clients for ${SECONDS} s each, on ${os.cpus().length} cores shared by the replicas, PostgreSQL and the load`);
  console.log(`  1 replica    ${one.rate.toFixed(0)} calls/s (${one.failed} failed)`);
  console.log(`  2 replicas   ${two.rate.toFixed(0)} calls/s (${two.failed} failed)  ratio ${(two.rate / one.rate).toFixed(2)}x`);
  // The baseline of the revocation row is one probe call's p50: the measurement cannot resolve finer.
  report([
    row('revocation on A seen on B, p99 (vs one probe call p50)', pct(firstRefusal, 0.99), 'ms', pct(probeMs, 0.5), atMost(25, 'ms')),
    row(`gateway tools/call, ${CLIENTS} clients, 2 replicas vs 1, context`, two.rate, '/s', one.rate, null),
  ]);
} finally {
  await Promise.all(replicas.map((r) => stopReplica(r)));
  for (const r of replicas) fs.rmSync(r.dataDir, { recursive: true, force: true });
  upstream.close();
  await setup.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await setup.end();
}
