// The A2A enforcement point's cost: the same A2A agent (official SDK, JSON-RPC, v1.0) sent
// `SendMessage` through /a2a/<peer> (mandate + DPoP verification, policy, the derived mandate, three
// audit appends) and directly.
// Run: node bench/a2a.ts   (BENCH_SECONDS, BENCH_CONCURRENCY to change the load; BENCH_DATABASE_URL for PostgreSQL)
import fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Role } from '@a2a-js/sdk';
import { AgentEvent, type AgentExecutor, DefaultRequestHandler, InMemoryTaskStore } from '@a2a-js/sdk/server';
import { jsonRpcHandler, UserBuilder } from '@a2a-js/sdk/server/express';
import express from 'express';
import pino from 'pino';
import { loadConfig } from '../src/config/schema.ts';
import { generateDpopKeyPair } from '../src/sdk/dpop.ts';
import { AgentRuntime } from '../src/sdk/runtime.ts';
import { startServer } from '../src/server/serve.ts';
import { benchStore } from './bench-store.ts';
import { report, row } from './summary.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 10);

/** An A2A agent that answers every message at once. */
async function startPeer(): Promise<{ rpc: string; card: Record<string, unknown>; server: Server }> {
  const app = express();
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/rpc`;
  const card = {
    name: 'Echo',
    description: 'answers at once',
    version: '1.0.0',
    supportedInterfaces: [{ url, protocolBinding: 'JSONRPC', protocolVersion: '1.0', tenant: '' }],
    capabilities: { streaming: true, pushNotifications: false, extensions: [], extendedAgentCard: false },
    securitySchemes: {},
    securityRequirements: [],
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    skills: [],
    signatures: [],
  };
  const executor: AgentExecutor = {
    execute: async (ctx, bus) => {
      bus.publish(AgentEvent.message({ messageId: crypto.randomUUID(), contextId: ctx.contextId, taskId: '', role: Role.ROLE_AGENT, parts: [{ content: { $case: 'text', value: 'ok' }, metadata: undefined, filename: '', mediaType: 'text/plain' }], metadata: undefined, extensions: [], referenceTaskIds: [] }));
      bus.finished();
    },
    cancelTask: async () => {},
  };
  app.use('/rpc', jsonRpcHandler({ requestHandler: new DefaultRequestHandler(card as never, new InMemoryTaskStore(), executor), userBuilder: UserBuilder.noAuthentication }));
  return { rpc: url, card, server };
}

const body = (i: number) =>
  JSON.stringify({
    jsonrpc: '2.0',
    id: i,
    method: 'SendMessage',
    params: { message: { messageId: `m-${i}`, role: 'ROLE_USER', parts: [{ text: 'hello' }], metadata: { customer_id: '42' } } },
  });

async function load(url: string, send: typeof fetch, concurrency: number, seconds: number) {
  const latencies: number[] = [];
  let ok = 0;
  let failed = 0;
  let firstFailure: string | undefined;
  let n = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  const loop = async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      const response = await send(url, { method: 'POST', headers: { 'content-type': 'application/json', 'a2a-version': '1.0' }, body: body(n++) });
      const text = await response.text();
      latencies.push(performance.now() - t0);
      if (response.status === 200 && text.includes('"result"')) ok++;
      else {
        failed++;
        firstFailure ??= `${response.status} ${text.slice(0, 200)}`;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  latencies.sort((a, b) => a - b);
  const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor((q / 100) * latencies.length))] ?? Number.NaN;
  return { rate: (ok * 1000) / (performance.now() - start), p50: p(50), p99: p(99), failed, firstFailure };
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mandate-bench-a2a-'));
// Rate limits and the burst rule would (rightly) throttle a benchmark; everything else runs as shipped.
fs.writeFileSync(path.join(dataDir, 'governance.yaml'), 'rateLimits:\n  instance: { limit: 0 }\n  agent: { limit: 0 }\n  person: { limit: 0 }\nbehavior:\n  burst: { enabled: false }\n');
const store = benchStore();
const peer = await startPeer();
const server = await startServer(loadConfig({ dataDir, port: 0, devIssuerProd: true, logLevel: 'silent', ...(store.databaseUrl ? { databaseUrl: store.databaseUrl } : {}) }, {}), {
  logger: pino({ level: 'silent' }),
  ...(store.pgSchema ? { pgSchema: store.pgSchema } : {}),
});
try {
  const admin = async (method: string, route: string, payload: unknown) => {
    const res = await fetch(`${server.url}${route}`, { method, headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(payload) });
    if (!res.ok) throw new Error(`${route}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<Record<string, string>>;
  };
  const codeHash = `sha256:${'c0de'.repeat(16)}`;
  const card = { owner: 'alice@example.com', environment: 'dev', roles: ['operator'], code_hashes: [codeHash], max_token_lifetime: '15m' };
  await admin('POST', '/v1/agents', { ...card, id: 'caller', name: 'Caller', toolset: ['a2a:echo/*'] });
  await admin('POST', '/v1/agents', { ...card, id: 'callee', name: 'Callee', toolset: ['http:api:GET:/**'] });
  const attest = async (id: string) => {
    const { token } = await admin('POST', `/v1/agents/${id}/join-tokens`, {});
    return AgentRuntime.bootstrap(server.url, { agent_id: id, join_token: token!, code_hash: codeHash, environment: 'dev' }, generateDpopKeyPair());
  };
  const caller = await attest('caller');
  await attest('callee');
  await admin('POST', '/v1/peers', { name: 'echo', url: peer.rpc, card: peer.card, agent: 'callee' });
  const { token: alice } = await admin('POST', '/v1/users/token', { subject: 'alice@example.com' });
  const mandate = await caller.obtainMandate({ subjectToken: alice!, scope: 'a2a:echo/message/send', resource: `${server.ctx.issuer}/a2a/echo` });
  const through = caller.fetchWith(mandate);
  const mandateUrl = `${server.ctx.issuer}/a2a/echo`;

  console.log(`A2A through Mandate, Node ${process.version}, ${os.cpus().length} CPU(s), load average ${os.loadavg()[0]!.toFixed(1)}, store ${server.ctx.store.dialect}, ${SECONDS} s each (caller, Mandate and peer share one process)\n`);
  await load(peer.rpc, fetch, 2, 1);
  await load(mandateUrl, through, 2, 1);
  console.log(`${'path'.padEnd(34)} ${'calls/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}`);
  const results = new Map<string, Awaited<ReturnType<typeof load>>>();
  for (const [label, url, send, concurrency] of [
    ['direct, 1 at a time', peer.rpc, fetch, 1],
    ['through Mandate, 1 at a time', mandateUrl, through, 1],
    [`direct, ${CONCURRENCY} concurrent`, peer.rpc, fetch, CONCURRENCY],
    [`through Mandate, ${CONCURRENCY} concurrent`, mandateUrl, through, CONCURRENCY],
  ] as const) {
    const result = await load(url, send, concurrency, SECONDS);
    results.set(label, result);
    console.log(`${label.padEnd(34)} ${result.rate.toFixed(0).padStart(8)} ${result.p50.toFixed(2).padStart(8)} ${result.p99.toFixed(2).padStart(8)}`);
    if (result.failed) console.log(`  ${result.failed} failed, first: ${result.firstFailure}`);
  }
  const at = (label: string) => results.get(label)!;
  report([
    // No target is set for A2A yet: the figures are recorded against the direct baseline.
    row(`A2A message/send p50, unloaded${store.tag}`, at('through Mandate, 1 at a time').p50, 'ms', at('direct, 1 at a time').p50, null),
    row(`A2A message/send calls/s, ${CONCURRENCY} concurrent${store.tag}`, at(`through Mandate, ${CONCURRENCY} concurrent`).rate, '/s', at(`direct, ${CONCURRENCY} concurrent`).rate, null),
  ]);
} finally {
  await server.close();
  await new Promise((resolve) => peer.server.close(resolve));
  await store.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
