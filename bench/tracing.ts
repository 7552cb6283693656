// What OpenTelemetry tracing costs enforcement: brokered calls (mandate + DPoP, the decision path,
// two audit appends, the upstream) with tracing off and on — every span exported over OTLP/HTTP
// to a receiver on loopback — in the same run, interleaved round by round.
// Run: node bench/tracing.ts   (BENCH_SECONDS, BENCH_CONCURRENCY, BENCH_ROUNDS; BENCH_DATABASE_URL for PostgreSQL)
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { createDpopProof, type Ed25519PublicJwk } from '../src/sdk/dpop.ts';
import { report, row } from './summary.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);

type Job =
  | { kind: 'upstream' }
  | { kind: 'receiver' }
  | { kind: 'load'; url: string; mandate: { token: string; privateJwk: crypto.JsonWebKey; publicJwk: Ed25519PublicJwk }; concurrency: number; seconds: number };

/** The upstream API, in its own thread; it also counts the traceparents it received. */
function upstream(): void {
  const body = JSON.stringify({ id: 1, full_name: 'acme/widgets' });
  let traced = 0;
  const server = http.createServer((request, response) => {
    if (request.headers.traceparent) traced++;
    if (request.url === '/count') return void response.end(String(traced));
    request.resume();
    request.on('end', () => response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body));
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => parentPort!.postMessage((server.address() as AddressInfo).port));
}

/** An OTLP/HTTP trace receiver in its own thread: accepts every export and counts the spans in it. */
function receiver(): void {
  let spans = 0;
  let exports = 0;
  const server = http.createServer((request, response) => {
    if (request.url === '/count') return void response.end(JSON.stringify({ spans, exports }));
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      exports++;
      spans += Buffer.concat(chunks).toString().split('"spanId"').length - 1;
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1', () => parentPort!.postMessage((server.address() as AddressInfo).port));
}

async function load(job: Extract<Job, { kind: 'load' }>): Promise<{ ok: number; failed: number; elapsedMs: number; firstFailure?: string }> {
  const key = crypto.createPrivateKey({ key: job.mandate.privateJwk, format: 'jwk' });
  let ok = 0;
  let failed = 0;
  let firstFailure: string | undefined;
  const start = performance.now();
  const deadline = start + job.seconds * 1000;
  const loop = async () => {
    while (performance.now() < deadline) {
      const traceparent = `00-${crypto.randomBytes(16).toString('hex')}-${crypto.randomBytes(8).toString('hex')}-01`;
      const dpop = createDpopProof({ privateKey: key, publicJwk: job.mandate.publicJwk, htm: 'GET', htu: job.url, accessToken: job.mandate.token });
      const response = await fetch(job.url, { headers: { authorization: `DPoP ${job.mandate.token}`, dpop, traceparent } });
      const text = await response.text();
      if (response.status === 200) ok++;
      else {
        failed++;
        firstFailure ??= `${response.status} ${text.slice(0, 200)}`;
      }
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, loop));
  return { ok, failed, elapsedMs: performance.now() - start, ...(firstFailure ? { firstFailure } : {}) };
}

function inWorker<T>(job: Job): Promise<{ result: T; worker: Worker }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: job });
    worker.once('message', (result: T) => resolve({ result, worker }));
    worker.once('error', reject);
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function main() {
  const pino = (await import('pino')).default;
  const { loadConfig } = await import('../src/config/schema.ts');
  const { startServer } = await import('../src/server/serve.ts');
  const { VERSION } = await import('../src/server/app.ts');
  const { brokerAgent } = await import('./broker-agent.ts');
  const { startTracing } = await import('../src/telemetry/sdk.ts');
  const { installedTracer, installTracer } = await import('../src/telemetry/trace.ts');

  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mandate-bench-tracing-'));
  fs.writeFileSync(path.join(dataDir, 'governance.yaml'), 'rateLimits:\n  instance: { limit: 0 }\n  agent: { limit: 0 }\n  person: { limit: 0 }\nbehavior:\n  burst: { enabled: false }\n');
  const { result: port, worker: upstreamWorker } = await inWorker<number>({ kind: 'upstream' });
  const { result: otlpPort, worker: receiverWorker } = await inWorker<number>({ kind: 'receiver' });
  const { benchStore } = await import('./bench-store.ts');
  const store = benchStore();
  const server = await startServer(loadConfig({ dataDir, port: 0, devIssuerProd: true, logLevel: 'silent', ...(store.databaseUrl ? { databaseUrl: store.databaseUrl } : {}) }, {}), {
    logger: pino({ level: 'silent' }),
    ...(store.pgSchema ? { pgSchema: store.pgSchema } : {}),
  });
  // The exporter reads its endpoint from the environment, as in production; batches large and
  // frequent enough that no span is dropped at this rate.
  Object.assign(process.env, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://127.0.0.1:${otlpPort}/v1/traces`, OTEL_SERVICE_NAME: 'mandate-bench' });
  const tracing = (await startTracing(VERSION, {
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_BSP_MAX_QUEUE_SIZE: '65536',
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '2048',
    OTEL_BSP_SCHEDULE_DELAY: '200',
  }))!;
  const tracer = installedTracer()!;
  installTracer(undefined);
  try {
    const agent = await brokerAgent(server, port, 'bench-secret-value-000000000000');
    const job: Job = {
      kind: 'load',
      url: agent.url,
      mandate: agent.mandate,
      concurrency: CONCURRENCY,
      seconds: SECONDS,
    };
    console.log(`tracing overhead, Node ${process.version}, ${os.cpus().length} CPU(s), load average ${os.loadavg()[0]!.toFixed(1)}, store ${server.ctx.store.dialect}, ${CONCURRENCY} concurrent, ${ROUNDS} rounds of ${SECONDS} s per mode\n`);
    await inWorker({ ...job, seconds: 1 }).then(({ worker }) => worker.terminate());
    const rates: Record<'off' | 'on', number[]> = { off: [], on: [] };
    // Server event-loop time per call: less swayed than throughput by other work on a shared machine.
    const busyUs: Record<'off' | 'on', number[]> = { off: [], on: [] };
    let tracedCalls = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (const mode of round % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
        installTracer(mode === 'on' ? tracer : undefined);
        const elu = performance.eventLoopUtilization();
        const { result, worker } = await inWorker<{ ok: number; failed: number; elapsedMs: number; firstFailure?: string }>(job);
        await worker.terminate();
        installTracer(undefined);
        // Exporting is part of tracing's cost: flushed inside the measured loop time.
        await tracing.flush();
        const used = performance.eventLoopUtilization(elu);
        const rate = (result.ok * 1000) / result.elapsedMs;
        const perCall = (used.active * 1000) / Math.max(1, result.ok);
        rates[mode].push(rate);
        busyUs[mode].push(perCall);
        if (mode === 'on') tracedCalls += result.ok;
        console.log(`round ${round + 1}, tracing ${mode.padEnd(3)} ${fmt(rate).padStart(8)} calls/s  ${fmt(perCall).padStart(6)} µs server loop per call${result.failed ? `  (${result.failed} failed, first: ${result.firstFailure})` : ''}`);
      }
    }
    // In process, without HTTP or the agent: what the spans of one decision cost (created, ended,
    // queued and exported), the call span included, against the same decision untraced.
    const { decideCall } = await import('../src/enforcement/call.ts');
    const { MemoryAuditWriter } = await import('../src/audit/memory-writer.ts');
    const { parseScope } = await import('../src/tokens/scope.ts');
    const { startTrace, endSpan } = await import('../src/telemetry/trace.ts');
    const card = { id: 'bench-bot', owner: 'alice@example.com', environment: 'dev', roles: ['operator'], toolset: ['tool:bench/*'] } as never;
    const claims = { iss: 'bench', sub: 'alice@example.com', aud: ['bench'], iat: 0, exp: 0, jti: crypto.randomUUID(), client_id: 'bench-bot', scope: 'tool:bench/*', act: { sub: 'spiffe://bench/agent/bench-bot/i/i1', agent_id: 'bench-bot', instance_id: 'i1' }, cnf: { jkt: 'x' }, budget: 1e12, depth: 0, sub_kind: 'person' as const };
    const principal = { claims, scope: parseScope(claims.scope), delegation: ['alice@example.com', claims.act.sub], person: 'alice@example.com', groups: [], agentId: 'bench-bot', instanceId: 'i1' };
    const deps = { authorizer: server.ctx.authorizer, audit: new MemoryAuditWriter(), auditKey: crypto.randomBytes(32), now: () => new Date() };
    const decide = async (traced: boolean, i: number) => {
      const trace = traced ? startTrace('mcp tools/call', `00-${crypto.randomBytes(16).toString('hex')}-${crypto.randomBytes(8).toString('hex')}-01`, { 'mandate.enforcement_point': 'gateway' }) : undefined;
      const outcome = await decideCall(deps, { principal, card, action: 'tools/call', scopeItem: 'tool:bench/lookup', resource: { type: 'tool', server: 'bench', name: 'lookup', highImpact: false, cost: 0 }, label: 'bench/lookup', args: { query: `q ${i}` }, trace });
      endSpan(trace);
      if (!outcome.allowed) throw new Error(`refused: ${outcome.code}`);
    };
    const perDecision: Record<'off' | 'on', number[]> = { off: [], on: [] };
    for (let round = 0; round < 2 * ROUNDS; round++) {
      const mode = round % 2 === 0 ? 'off' : 'on';
      installTracer(mode === 'on' ? tracer : undefined);
      for (let i = 0; i < 2000; i++) {
        const t = performance.now();
        await decide(mode === 'on', i);
        if (i >= 200) perDecision[mode].push((performance.now() - t) * 1000);
      }
      installTracer(undefined);
      await tracing.flush();
    }
    const decisionOff = median(perDecision.off);
    const decisionOn = median(perDecision.on);
    console.log(`\none decision in process (no governance), p50: off ${fmt(decisionOff, 1)} µs, on ${fmt(decisionOn, 1)} µs: tracing adds ${fmt(decisionOn - decisionOff, 1)} µs`);

    const received = (await (await fetch(`http://127.0.0.1:${otlpPort}/count`)).json()) as { spans: number; exports: number };
    const off = median(rates.off);
    const on = median(rates.on);
    const busyOff = median(busyUs.off);
    const busyOn = median(busyUs.on);
    console.log(`\nmedian: off ${fmt(off)} calls/s, on ${fmt(on)} calls/s (${fmt((on / off) * 100, 1)} %); server loop ${fmt(busyOff)} → ${fmt(busyOn)} µs per call (+${fmt(((busyOn - busyOff) / busyOff) * 100, 1)} %)`);
    console.log(`spans received by the OTLP receiver: ${fmt(received.spans)} in ${fmt(received.exports)} exports (${fmt(tracedCalls)} brokered calls traced, 13 spans each, plus the in-process decisions)`);
    report([
      row(`brokered calls/s with tracing on (OTLP to loopback) vs off${store.tag}`, on, '/s', off, { text: 'within 5% (ratio ≥ 0.95)', met: (_v, _b, ratio) => ratio !== null && ratio >= 0.95 }),
      row(`server loop µs per brokered call, tracing on vs off${store.tag}`, busyOn, 'µs', busyOff, { text: 'within 5% (ratio ≤ 1.05)', met: (_v, _b, ratio) => ratio !== null && ratio <= 1.05 }),
      row(`one decision in process, p50, tracing on vs off (context)${store.tag}`, decisionOn, 'µs', decisionOff, null),
    ]);
  } finally {
    await tracing.shutdown();
    await server.close();
    await upstreamWorker.terminate();
    await receiverWorker.terminate();
    fs.rmSync(dataDir, { recursive: true, force: true });
    await store.drop();
  }
}

if (isMainThread) {
  await main();
} else {
  const job = workerData as Job;
  if (job.kind === 'upstream') upstream();
  else if (job.kind === 'receiver') receiver();
  else parentPort!.postMessage(await load(job));
}
