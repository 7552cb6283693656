// Scale-out over one PostgreSQL, with `mandate serve` replicas as separate processes on this machine:
//  1. revocation propagation: revoke a mandate on replica A, then call replica B (which has just
//     seen the mandate live and cached that) until it refuses; median and p99 over many revocations.
//  2. gateway throughput (MCP tools/call echo through /mcp/everything) with 1 replica, then 2,
//     the same number of concurrent clients either way.
// Run: node bench/replicas.ts  (BENCH_DATABASE_URL, BENCH_REVOCATIONS, BENCH_PROBERS, BENCH_SECONDS, BENCH_CLIENTS)
import { type ChildProcess, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import pg from 'pg';
import { sha256Hex } from '../src/sdk/manifest.ts';
import { AgentRuntime, type Mandate } from '../src/sdk/runtime.ts';

const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REVOCATIONS = Number(process.env.BENCH_REVOCATIONS ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 32);
const PROBERS = Number(process.env.BENCH_PROBERS ?? 1);
const BIN = fileURLToPath(new URL('../bin/mandate.js', import.meta.url));
const EVERYTHING = fileURLToPath(new URL('../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url));
const PUBLIC = 'http://mandate.internal:7470';
const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT = 'urn:ietf:params:oauth:token-type:jwt';
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

interface Replica {
  child: ChildProcess;
  url: string;
  output: string;
}

function startReplica(env: NodeJS.ProcessEnv): Promise<Replica> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mandate-bench-replica-'));
  // No rate limits or burst rule: the bench measures the path, not refusals.
  fs.writeFileSync(path.join(dataDir, 'governance.yaml'), 'rateLimits:\n  instance: { limit: 0 }\n  agent: { limit: 0 }\n  person: { limit: 0 }\nbehavior:\n  burst: { enabled: false }\n');
  const child = spawn(process.execPath, [BIN, 'serve'], { env: { ...env, MANDATE_DATA_DIR: dataDir }, stdio: ['ignore', 'pipe', 'pipe'] });
  const replica = { child, url: '', output: '' };
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      replica.output += chunk.toString();
      const match = /Mandate listening on (\S+)/.exec(replica.output);
      if (match && !replica.url) {
        replica.url = match[1]!;
        resolve(replica);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`replica exited ${code}: ${replica.output}`)));
  });
}

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
const env = {
  PATH: process.env.PATH,
  MANDATE_DATABASE_URL: `${DATABASE_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`,
  MANDATE_MASTER_KEY: crypto.randomBytes(32).toString('base64'),
  MANDATE_PUBLIC_URL: PUBLIC,
  MANDATE_PORT: '0',
  MANDATE_LOG_LEVEL: 'error',
};
const replicas: Replica[] = [];
try {
  const a = await startReplica(env);
  replicas.push(a);
  const b = await startReplica(env);
  replicas.push(b);
  const token = /(mdt_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)/.exec(a.output)![1]!;
  const admin = async (at: Replica, method: string, route: string, body?: unknown) => {
    const res = await fetch(`${at.url}${route}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': typeof body === 'string' ? 'application/x-www-form-urlencoded' : 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body ?? {}) });
    return (await res.json().catch(() => ({}))) as Record<string, unknown>;
  };
  const code = sha256Hex('bench');
  await admin(a, 'POST', '/v1/agents', { id: 'bench-bot', name: 'Bench', owner: 'alice@example.com', roles: ['operator'], code_hashes: [code], toolset: ['tool:everything/*', 'http:api:*:/**'], default_budget: 1e12 });
  await admin(a, 'POST', '/v1/servers', { name: 'everything', transport: 'stdio', command: [process.execPath, EVERYTHING] });
  await admin(a, 'POST', '/v1/connections', { name: 'api', base_url: upstreamUrl, allow: ['GET /**'] });
  const join = await admin(a, 'POST', '/v1/agents/bench-bot/join-tokens', { uses: 1 });
  const runtime = await AgentRuntime.bootstrap(a.url, { agent_id: 'bench-bot', join_token: String(join.token), code_hash: code, environment: 'dev' });
  const person = String((await admin(a, 'POST', '/v1/users/token', { subject: 'alice@example.com', ttl: 3600 })).token);
  const mandateAt = async (at: Replica, scope: string, resource: string): Promise<Mandate> => {
    const form = new URLSearchParams({ grant_type: EXCHANGE, subject_token: person, subject_token_type: JWT, actor_token: await runtime.identityToken(), actor_token_type: JWT, scope, resource });
    const res = await fetch(`${at.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: runtime.proof('POST', `${PUBLIC}/oauth/token`) }, body: form });
    const body = (await res.json()) as { access_token: string; scope: string; expires_in: number };
    if (!body.access_token) throw new Error(`exchange failed: ${JSON.stringify(body)}`);
    return { token: body.access_token, scope: body.scope, expiresAt: new Date(Date.now() + body.expires_in * 1000) };
  };
  const probe = (at: Replica, m: Mandate) =>
    fetch(`${at.url}/broker/api/probe`, { headers: { authorization: `DPoP ${m.token}`, dpop: runtime.proof('GET', `${PUBLIC}/broker/api/probe`, m.token) } }).then(async (r) => {
      await r.arrayBuffer();
      return r.status;
    });

  // 1. Revocation propagation, A → B. A prober calls B back to back while A revokes, so the
  //    first refusal is seen within a fraction of a call of when B starts refusing.
  const firstRefusal: number[] = [];
  const lastAcceptedStart: number[] = [];
  const afterAnswer: number[] = [];
  let probes = 0;
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
  for (const list of [firstRefusal, lastAcceptedStart, afterAnswer]) list.sort((x, y) => x - y);
  const line = (label: string, list: number[]) => `  ${label.padEnd(44)} p50 ${pct(list, 0.5).toFixed(2)} ms  p99 ${pct(list, 0.99).toFixed(2)} ms  max ${list.at(-1)!.toFixed(2)} ms`;
  console.log(`revocation on A → refusal on B, ${REVOCATIONS} revocations, ${PROBERS} prober(s) calling B throughout (${probes} probe calls)`);
  console.log(`${line('first refusal on B, from sending the revoke', firstRefusal)}  (target p99 ≤ 100 ms)`);
  console.log(line('last call B accepted began, after sending', lastAcceptedStart));
  console.log(line("first refusal on B, after A's answer", afterAnswer));

  // 2. Gateway throughput with 1 and 2 replicas, the same clients.
  const mcp = await mandateAt(a, 'tool:everything/echo', `${PUBLIC}/mcp/everything`);
  const clientAt = async (at: Replica) => {
    const signed: typeof fetch = (input, init = {}) => {
      const headers = new Headers(init.headers);
      headers.set('authorization', `DPoP ${mcp.token}`);
      headers.set('dpop', runtime.proof((init.method ?? 'GET').toUpperCase(), `${PUBLIC}/mcp/everything`, mcp.token));
      return fetch(input, { ...init, headers });
    };
    const c = new Client({ name: 'load', version: '1' });
    await c.connect(new StreamableHTTPClientTransport(new URL(`${at.url}/mcp/everything`), { fetch: signed }));
    return c;
  };
  const load = async (on: Replica[]) => {
    const clients = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => clientAt(on[i % on.length]!)));
    for (const c of clients) await c.callTool({ name: 'echo', arguments: { message: 'warm' } });
    let done = 0;
    let failed = 0;
    const started = performance.now();
    const until = started + SECONDS * 1000;
    await Promise.all(
      clients.map(async (c) => {
        while (performance.now() < until) {
          const r = await c.callTool({ name: 'echo', arguments: { message: 'x' } }).catch(() => ({ isError: true }));
          if (r.isError) failed++;
          else done++;
        }
      }),
    );
    const rate = done / ((performance.now() - started) / 1000);
    await Promise.all(clients.map((c) => c.close()));
    return { rate, failed };
  };
  const one = await load([a]);
  const two = await load([a, b]);
  console.log(`gateway tools/call, ${CLIENTS} concurrent clients for ${SECONDS} s each, on ${os.cpus().length} cores shared by the replicas, PostgreSQL and the load`);
  console.log(`  1 replica    ${one.rate.toFixed(0)} calls/s (${one.failed} failed)`);
  console.log(`  2 replicas   ${two.rate.toFixed(0)} calls/s (${two.failed} failed)  ratio ${(two.rate / one.rate).toFixed(2)}x`);
} finally {
  for (const r of replicas) r.child.kill('SIGTERM');
  await Promise.all(replicas.map((r) => new Promise((resolve) => (r.child.exitCode !== null ? resolve(null) : r.child.once('exit', resolve)))));
  upstream.close();
  await setup.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await setup.end();
}
