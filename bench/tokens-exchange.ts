// Token exchange (RFC 8693 + DPoP) over HTTP on loopback, and verifyPresentedMandate in process,
// next to raw Ed25519 sign+verify measured in the same run.
// Run: node bench/tokens-exchange.ts   (BENCH_SECONDS, BENCH_CONCURRENCY to change the load)
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { createDpopProof, type Ed25519PublicJwk } from '../src/sdk/dpop.ts';
import { atLeast, atMost, ratioAtLeast, report, row } from './summary.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);

interface LoadSpec {
  tokenUrl: string;
  /** GET this URL instead (no proof, no body): the same server's bare HTTP round trip. */
  bare?: string;
  htu: string;
  body: string;
  privateJwk: crypto.JsonWebKey;
  publicJwk: Ed25519PublicJwk;
  concurrency: number;
  seconds: number;
}

interface LoadResult {
  ok: number;
  failed: number;
  firstFailure: string | undefined;
  elapsedMs: number;
  latenciesMs: number[];
}

/**
 * The client: a worker thread with its own event loop (and core, when there is one), so proof
 * signing and HTTP parsing on the client side do not count against the server's main thread.
 */
async function load(spec: LoadSpec): Promise<LoadResult> {
  const privateKey = crypto.createPrivateKey({ key: spec.privateJwk, format: 'jwk' });
  const latenciesMs: number[] = [];
  let ok = 0;
  let failed = 0;
  let firstFailure: string | undefined;
  const start = performance.now();
  const deadline = start + spec.seconds * 1000;
  const loop = async () => {
    while (performance.now() < deadline) {
      const dpop = spec.bare ? '' : createDpopProof({ privateKey, publicJwk: spec.publicJwk, htm: 'POST', htu: spec.htu });
      const t0 = performance.now();
      const response = spec.bare
        ? await fetch(spec.bare)
        : await fetch(spec.tokenUrl, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded', dpop },
            body: spec.body,
          });
      const text = await response.text();
      latenciesMs.push(performance.now() - t0);
      if (response.status === 200) ok++;
      else {
        failed++;
        firstFailure ??= `${response.status} ${text.slice(0, 200)}`;
      }
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, loop));
  return { ok, failed, firstFailure, elapsedMs: performance.now() - start, latenciesMs };
}

function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: spec });
    worker.once('message', (result: LoadResult) => {
      resolve(result);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const line = (label: string, value: string) => console.log(`${label.padEnd(52)} ${value}`);

/** Ed25519 sign + verify pairs per second on this thread, over a mandate-sized message. */
function rawEd25519(ms: number): number {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
  const message = crypto.randomBytes(700);
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    for (let i = 0; i < 50; i++) {
      const signature = crypto.sign(null, message, privateKey);
      if (!crypto.verify(null, message, publicKey, signature)) throw new Error('verify failed');
      n++;
    }
  }
  return (n * 1000) / (performance.now() - start);
}

async function main() {
  const pino = (await import('pino')).default;
  const { sql } = await import('kysely');
  const { loadConfig } = await import('../src/config/schema.ts');
  const { startServer } = await import('../src/server/serve.ts');
  const { AgentRuntime } = await import('../src/sdk/runtime.ts');
  const { generateDpopKeyPair } = await import('../src/sdk/dpop.ts');
  const { verifyPresentedMandate } = await import('../src/tokens/verify-request.ts');
  const { TOKEN_EXCHANGE_GRANT, TOKEN_TYPE } = await import('../src/jose/token-types.ts');

  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mandate-bench-'));
  const server = await startServer(loadConfig({ dataDir, port: 0, devIssuerProd: true, logLevel: 'silent' }, {}), { logger: pino({ level: 'silent' }) });
  try {
    const admin = async (route: string, body: unknown) => {
      const res = await fetch(`${server.url}${route}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`${route}: ${res.status} ${await res.text()}`);
      return res.json() as Promise<Record<string, string>>;
    };
    const codeHash = `sha256:${'c0de'.repeat(16)}`;
    await admin('/v1/agents', {
      id: 'bench-bot',
      name: 'Bench bot',
      owner: 'alice@example.com',
      environment: 'prod',
      code_hashes: [codeHash],
      toolset: ['tool:github/*'],
      max_token_lifetime: '15m',
    });
    const { token: joinToken } = await admin('/v1/agents/bench-bot/join-tokens', {});
    const key = generateDpopKeyPair();
    const runtime = await AgentRuntime.bootstrap(server.url, { agent_id: 'bench-bot', join_token: joinToken!, code_hash: codeHash, environment: 'prod' }, key);
    const { token: alice } = await admin('/v1/users/token', { subject: 'alice@example.com' });
    const github = `${server.ctx.issuer}/mcp/github`;
    const body = new URLSearchParams({
      grant_type: TOKEN_EXCHANGE_GRANT,
      subject_token: alice!,
      subject_token_type: TOKEN_TYPE.jwt,
      actor_token: await runtime.identityToken(),
      actor_token_type: TOKEN_TYPE.jwt,
      scope: 'tool:github/search_issues tool:github/create_issue',
      resource: github,
    }).toString();
    const spec = (concurrency: number, seconds: number): LoadSpec => ({
      tokenUrl: `${server.url}/oauth/token`,
      htu: `${server.ctx.issuer}/oauth/token`,
      body,
      privateJwk: key.privateKey.export({ format: 'jwk' }),
      publicJwk: key.publicJwk,
      concurrency,
      seconds,
    });

    console.log(`token exchange with DPoP, Node ${process.version}, ${os.cpus().length} CPU(s), load average ${os.loadavg()[0]!.toFixed(1)}, store ${server.ctx.store.dialect}\n`);
    const raw = rawEd25519(1000);
    line('raw Ed25519 sign+verify (one thread)', `${fmt(raw).padStart(10)} pairs/s`);

    await runLoad(spec(CONCURRENCY, 1)); // warm-up: JIT, SQLite pages, proof-key cache
    const runs: Array<[string, number]> = [
      [`concurrency ${CONCURRENCY}`, CONCURRENCY],
      ['concurrency 1 (unloaded latency)', 1],
    ];
    let perCore = 0;
    let loaded = { rate: Number.NaN, p99: Number.NaN };
    for (const [label, concurrency] of runs) {
      const elu = performance.eventLoopUtilization();
      const result = await runLoad(spec(concurrency, SECONDS));
      const used = performance.eventLoopUtilization(elu).utilization;
      if (result.failed) console.log(`  ${result.failed} failed, first: ${result.firstFailure}`);
      const rate = (result.ok * 1000) / result.elapsedMs;
      const sorted = result.latenciesMs.sort((x, y) => x - y);
      line(`exchanges over HTTP, ${label}`, `${fmt(rate).padStart(10)} /s`);
      line('  server main thread busy', `${fmt(used * 100, 0).padStart(10)} %`);
      line('  exchanges per busy server core', `${fmt(rate / used).padStart(10)} /s`);
      line('  latency p50 / p99', `${fmt(percentile(sorted, 50), 2).padStart(10)} / ${fmt(percentile(sorted, 99), 2)} ms`);
      if (concurrency === CONCURRENCY) {
        perCore = rate / used;
        loaded = { rate, p99: percentile(sorted, 99) };
      }
    }
    line('ratio: exchanges per core / raw sign+verify pairs', `${fmt(perCore / raw, 3).padStart(10)}`);
    line('ratio: exchanges / raw sign+verify pairs', `${fmt(loaded.rate / raw, 3).padStart(10)}`);
    // The latency baseline: GET /healthz on the same server at the same concurrency (HTTP alone).
    const bare = await runLoad({ ...spec(CONCURRENCY, Math.min(SECONDS, 2)), bare: `${server.url}/healthz` });
    const bareP99 = percentile(bare.latenciesMs.sort((x, y) => x - y), 99);
    line(`GET /healthz, concurrency ${CONCURRENCY}, p99 (HTTP alone)`, `${fmt(bareP99, 2).padStart(10)} ms`);
    const summary = [
      row(`token exchange with DPoP, ${CONCURRENCY} concurrent`, loaded.rate, '/s', raw, atLeast(2000, '/s')),
      row(`token exchange p99, ${CONCURRENCY} concurrent (vs GET /healthz)`, loaded.p99, 'ms', bareP99, atMost(5, 'ms')),
      row('token exchange / raw Ed25519 sign+verify pairs', loaded.rate, '/s', raw, ratioAtLeast(0.25)),
    ];
    if (server.ctx.store.dialect === 'sqlite' && process.env.BENCH_WHAT_IF !== '0') {
      // What-if, not the shipped setting: every exchange commits twice (replay row, mandate row),
      // and with synchronous=FULL each commit waits for an fsync of the WAL.
      await sql`pragma synchronous = NORMAL`.execute(server.ctx.store.db);
      const elu = performance.eventLoopUtilization();
      const result = await runLoad(spec(CONCURRENCY, SECONDS));
      const used = performance.eventLoopUtilization(elu).utilization;
      const rate = (result.ok * 1000) / result.elapsedMs;
      const sorted = result.latenciesMs.sort((x, y) => x - y);
      line(`what-if synchronous=NORMAL, concurrency ${CONCURRENCY}`, `${fmt(rate).padStart(10)} /s`);
      line('  exchanges per busy server core', `${fmt(rate / used).padStart(10)} /s`);
      line('  latency p50 / p99', `${fmt(percentile(sorted, 50), 2).padStart(10)} / ${fmt(percentile(sorted, 99), 2)} ms`);
      const single = await runLoad(spec(1, SECONDS));
      const one = single.latenciesMs.sort((x, y) => x - y);
      line('  latency p50 / p99 at concurrency 1', `${fmt(percentile(one, 50), 2).padStart(10)} / ${fmt(percentile(one, 99), 2)} ms`);
      await sql`pragma synchronous = FULL`.execute(server.ctx.store.db);
    }

    // The exchange alone, in process and sequential: no HTTP, so the CPU it costs the server shows
    // (process CPU time per exchange, which a loaded machine disturbs far less than wall time).
    const { exchangeToken } = await import('../src/tokens/exchange/pipeline.ts');
    const tokenHtu = `${server.ctx.issuer}/oauth/token`;
    const fields = Object.fromEntries(new URLSearchParams(body));
    const exchangeProofs = Array.from({ length: 6_000 }, () => runtime.proof('POST', tokenHtu));
    let e = 0;
    for (; e < 300; e++) await exchangeToken(server.ctx, fields, exchangeProofs[e], tokenHtu);
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    const firstExchange = e;
    while (performance.now() - wall0 < 2000 && e < exchangeProofs.length) await exchangeToken(server.ctx, fields, exchangeProofs[e++], tokenHtu);
    const cpu = process.cpuUsage(cpu0);
    const exchanged = e - firstExchange;
    line('exchangeToken in process (sequential)', `${fmt((exchanged * 1000) / (performance.now() - wall0)).padStart(10)} /s`);
    line('  process CPU per exchange', `${fmt((cpu.user + cpu.system) / exchanged, 0).padStart(10)} µs`);

    // An enforcement point's check, in process: mandate + fresh DPoP proof (ath) + replay + standing.
    const mandate = await runtime.obtainMandate({ subjectToken: alice!, scope: 'tool:github/search_issues', resource: github });
    const proofs = Array.from({ length: 40_000 }, () => runtime.proof('POST', github, mandate.token));
    const presented = (i: number) => ({ authorization: `DPoP ${mandate.token}`, dpop: proofs[i]!, htm: 'POST', htu: github, resource: github });
    let i = 0;
    for (; i < 500; i++) await verifyPresentedMandate(server.ctx, presented(i));
    const start = performance.now();
    const first = i;
    while (performance.now() - start < 2000 && i < proofs.length) await verifyPresentedMandate(server.ctx, presented(i++));
    line('verifyPresentedMandate in process (sequential)', `${fmt(((i - first) * 1000) / (performance.now() - start)).padStart(10)} /s`);
    if (server.ctx.store.dialect === 'sqlite' && process.env.BENCH_WHAT_IF !== '0') {
      await sql`pragma synchronous = NORMAL`.execute(server.ctx.store.db);
      const again = performance.now();
      const from = i;
      while (performance.now() - again < 2000 && i < proofs.length) await verifyPresentedMandate(server.ctx, presented(i++));
      line('  what-if synchronous=NORMAL', `${fmt(((i - from) * 1000) / (performance.now() - again)).padStart(10)} /s`);
    }
    report(summary);
  } finally {
    await server.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

// Last, so every declaration above is initialized: the worker runs the load, the main thread the rest.
if (isMainThread) await main();
else parentPort!.postMessage(await load(workerData as LoadSpec));
