// The credential broker's cost: the same loopback upstream reached through /broker/<connection>/…
// (mandate + DPoP verification, policy, two audit appends, injection, scrubbing) and directly.
// Run: node bench/broker-proxy.ts   (BENCH_SECONDS, BENCH_CONCURRENCY to change the load; BENCH_DATABASE_URL for PostgreSQL)
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { createDpopProof, type Ed25519PublicJwk } from '../src/sdk/dpop.ts';
import { addedAtMost, ratioAtLeast, report, row } from './summary.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
const SECRET = 'ghp_benchmark0secret0value0000000000000';

type Job =
  | { kind: 'upstream' }
  | { kind: 'load'; url: string; mandate?: { token: string; privateJwk: crypto.JsonWebKey; publicJwk: Ed25519PublicJwk }; concurrency: number; seconds: number };

interface LoadResult {
  ok: number;
  failed: number;
  firstFailure: string | undefined;
  elapsedMs: number;
  latenciesMs: number[];
}

/** The upstream API, in its own thread so it never competes with Mandate's event loop. */
function upstream(): void {
  const body = JSON.stringify({ id: 1, full_name: 'acme/widgets', private: false, description: 'x'.repeat(600) });
  const server = http.createServer((request, response) => {
    request.resume();
    request.on('end', () => response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body));
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => parentPort!.postMessage((server.address() as AddressInfo).port));
}

/** The agent side, in its own thread: a fresh DPoP proof per brokered request (signing counts here, not on the server). */
async function load(job: Extract<Job, { kind: 'load' }>): Promise<LoadResult> {
  const key = job.mandate ? crypto.createPrivateKey({ key: job.mandate.privateJwk, format: 'jwk' }) : undefined;
  const latenciesMs: number[] = [];
  let ok = 0;
  let failed = 0;
  let firstFailure: string | undefined;
  const start = performance.now();
  const deadline = start + job.seconds * 1000;
  const loop = async () => {
    while (performance.now() < deadline) {
      const headers: Record<string, string> = {};
      if (job.mandate && key) {
        headers.authorization = `DPoP ${job.mandate.token}`;
        headers.dpop = createDpopProof({ privateKey: key, publicJwk: job.mandate.publicJwk, htm: 'GET', htu: job.url, accessToken: job.mandate.token });
      }
      const t0 = performance.now();
      const response = await fetch(job.url, { headers });
      const text = await response.text();
      latenciesMs.push(performance.now() - t0);
      if (response.status === 200 && !text.includes(SECRET)) ok++;
      else {
        failed++;
        firstFailure ??= `${response.status} ${text.slice(0, 200)}`;
      }
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, loop));
  return { ok, failed, firstFailure, elapsedMs: performance.now() - start, latenciesMs };
}

function inWorker<T>(job: Job): Promise<{ result: T; worker: Worker }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: job });
    worker.once('message', (result: T) => resolve({ result, worker }));
    worker.once('error', reject);
  });
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function main() {
  const pino = (await import('pino')).default;
  const { loadConfig } = await import('../src/config/schema.ts');
  const { startServer } = await import('../src/server/serve.ts');
  const { brokerAgent } = await import('./broker-agent.ts');

  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mandate-bench-broker-'));
  // Rate limits and the burst rule would (rightly) throttle a benchmark; everything else runs as shipped.
  fs.writeFileSync(path.join(dataDir, 'governance.yaml'), 'rateLimits:\n  instance: { limit: 0 }\n  agent: { limit: 0 }\n  person: { limit: 0 }\nbehavior:\n  burst: { enabled: false }\n');
  const { result: port, worker: upstreamWorker } = await inWorker<number>({ kind: 'upstream' });
  const { benchStore } = await import('./bench-store.ts');
  const store = benchStore();
  const server = await startServer(loadConfig({ dataDir, port: 0, devIssuerProd: true, logLevel: 'silent', ...(store.databaseUrl ? { databaseUrl: store.databaseUrl } : {}) }, {}), {
    logger: pino({ level: 'silent' }),
    ...(store.pgSchema ? { pgSchema: store.pgSchema } : {}),
  });
  try {
    const agent = await brokerAgent(server, port, SECRET);
    const brokered: Job = {
      kind: 'load',
      url: agent.url,
      mandate: agent.mandate,
      concurrency: CONCURRENCY,
      seconds: SECONDS,
    };
    const direct: Job = { kind: 'load', url: `http://127.0.0.1:${port}/repos/acme/widgets`, concurrency: CONCURRENCY, seconds: SECONDS };

    console.log(`broker proxy, Node ${process.version}, ${os.cpus().length} CPU(s), load average ${os.loadavg()[0]!.toFixed(1)}, store ${server.ctx.store.dialect}, ${CONCURRENCY} concurrent, ${SECONDS} s each\n`);
    for (const warm of [direct, brokered]) await inWorker<LoadResult>({ ...warm, seconds: 1 }).then(({ worker }) => worker.terminate());
    console.log(`${'path'.padEnd(34)} ${'requests/s'.padStart(10)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}  server busy`);
    const measured = new Map<Job, { rate: number; p50: number }>();
    const unloadedDirect: Job = { ...direct, concurrency: 1 };
    const unloadedBrokered: Job = { ...brokered, concurrency: 1 };
    const rows: Array<[string, Job]> = [
      ['direct to the upstream', direct],
      ['through the broker', brokered],
      ['direct, 1 at a time (unloaded)', unloadedDirect],
      ['broker, 1 at a time (unloaded)', unloadedBrokered],
    ];
    for (const [label, job] of rows) {
      const elu = performance.eventLoopUtilization();
      const { result, worker } = await inWorker<LoadResult>(job);
      await worker.terminate();
      const busy = performance.eventLoopUtilization(elu).utilization;
      const sorted = result.latenciesMs.sort((x, y) => x - y);
      const rate = (result.ok * 1000) / result.elapsedMs;
      console.log(`${label.padEnd(34)} ${fmt(rate).padStart(10)} ${fmt(percentile(sorted, 50), 2).padStart(8)} ${fmt(percentile(sorted, 99), 2).padStart(8)}  ${fmt(busy * 100)} %`);
      if (result.failed) console.log(`  ${result.failed} failed, first: ${result.firstFailure}`);
      measured.set(job, { rate, p50: percentile(sorted, 50) });
    }
    const at = (job: Job) => measured.get(job)!;
    report([
      row(`broker requests/s, ${CONCURRENCY} concurrent${store.tag}`, at(brokered).rate, '/s', at(direct).rate, ratioAtLeast(0.5)),
      row(`broker request p50, 1 at a time${store.tag}`, at(unloadedBrokered).p50, 'ms', at(unloadedDirect).p50, addedAtMost(0.5, 'ms')),
    ]);
    const events = (server.ctx.audit as { events?: unknown[] }).events?.length;
    if (events !== undefined) console.log(`\naudit events written: ${fmt(events)}`);
  } finally {
    await server.close();
    await upstreamWorker.terminate();
    fs.rmSync(dataDir, { recursive: true, force: true });
    await store.drop();
  }
}

if (isMainThread) {
  await main();
} else {
  const job = workerData as Job;
  if (job.kind === 'upstream') upstream();
  else parentPort!.postMessage(await load(job));
}
