// Resident memory of a `mandate serve` process holding many open MCP sessions on the gateway
// (each: mandate + DPoP checked, initialize and notifications/initialized over Streamable HTTP,
// one pooled upstream), next to the same process warmed up with one session, in the same run.
// The server is its own process so its RSS is its own; the sessions stay open while it is read.
// Run: node bench/mcp-sessions.ts   (BENCH_SESSIONS, default 10,000; with fewer, the growth
// from the half-way count to the last is extrapolated linearly to 10,000 and the row says so)
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { sha256Hex } from '../src/sdk/manifest.ts';
import { AgentRuntime } from '../src/sdk/runtime.ts';
import { adminApi, adminTokenOf, mandateAt, PUBLIC, type Replica, signedFetch, startReplica, stopReplica } from '../test/replicas.kit.ts';
import { atMost, report, row } from './summary.ts';

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 10_000);
const TARGET_SESSIONS = 10_000;
const IN_FLIGHT = 16;
const EVERYTHING = fileURLToPath(new URL('../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url));
const ROUTE = '/mcp/everything';
const PROTOCOL = '2025-06-18';

/** Resident set of a process in MiB, from the kernel's own account. */
function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) / 1024;
}

const env = { PATH: process.env.PATH, MANDATE_MASTER_KEY: crypto.randomBytes(32).toString('base64'), MANDATE_PUBLIC_URL: PUBLIC, MANDATE_PORT: '0', MANDATE_LOG_LEVEL: 'error' };
let server: Replica | undefined;
try {
  server = await startReplica('sessions', env);
  const at = server;
  const api = adminApi(adminTokenOf(at));
  const admin = async (method: string, route: string, body?: unknown) => (await (await api(at, method, route, body)).json()) as Record<string, unknown>;
  const code = sha256Hex('bench');
  await admin('POST', '/v1/agents', { id: 'bench-bot', name: 'Bench', owner: 'alice@example.com', roles: ['operator'], code_hashes: [code], toolset: ['tool:everything/*'], default_budget: 1e12 });
  await admin('POST', '/v1/servers', { name: 'everything', transport: 'stdio', command: [process.execPath, EVERYTHING] });
  const join = await admin('POST', '/v1/agents/bench-bot/join-tokens', { uses: 1 });
  const runtime = await AgentRuntime.bootstrap(at.url, { agent_id: 'bench-bot', join_token: String(join.token), code_hash: code, environment: 'dev' });
  const person = String((await admin('POST', '/v1/users/token', { subject: 'alice@example.com', ttl: 3600 })).token);
  const mandate = await mandateAt(at, runtime, { person, scope: 'tool:everything/echo', resource: `${PUBLIC}${ROUTE}` });
  const signed = signedFetch(runtime, mandate, ROUTE);
  const post = (body: unknown, session?: string) =>
    signed(`${at.url}${ROUTE}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(session ? { 'mcp-session-id': session, 'mcp-protocol-version': PROTOCOL } : {}) },
      body: JSON.stringify(body),
    });

  /** One MCP session opened the way a client does, left open. */
  const open = async (i: number) => {
    const init = await post({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: `bench-${i}`, version: '1' } } });
    const session = init.headers.get('mcp-session-id');
    const text = await init.text();
    if (init.status !== 200 || !session) throw new Error(`initialize answered ${init.status}: ${text.slice(0, 200)}`);
    const ack = await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, session);
    await ack.arrayBuffer();
    if (ack.status !== 202 && ack.status !== 200) throw new Error(`notifications/initialized answered ${ack.status}`);
    return session;
  };

  // Warm: one session with one call, so the upstream is connected and the code paths are loaded.
  const first = await open(0);
  const call = await post({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { message: 'warm' } } }, first);
  if (call.status !== 200) throw new Error(`tools/call answered ${call.status}: ${await call.text()}`);
  await call.arrayBuffer();
  await new Promise((resolve) => setTimeout(resolve, 500));
  const idle = rssMiB(at.child.pid!);

  let next = 1;
  let seconds = 0;
  /** Open sessions until `count` are open; RSS read after a pause for the heap to settle. */
  const openUpTo = async (count: number) => {
    const started = performance.now();
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < count) await open(next++);
      }),
    );
    seconds += (performance.now() - started) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    return rssMiB(at.child.pid!);
  };
  const half = Math.max(1, Math.floor(SESSIONS / 2));
  const halfway = await openUpTo(half);
  const held = await openUpTo(SESSIONS);
  const perSession = ((held - idle) * 1024) / Math.max(1, SESSIONS - 1);
  // The slope of the second half leaves out the one-time growth of the first sessions (heap spaces).
  const slope = SESSIONS > half ? (held - halfway) / (SESSIONS - half) : (held - idle) / Math.max(1, SESSIONS - 1);
  const atTarget = SESSIONS >= TARGET_SESSIONS ? held : held + slope * (TARGET_SESSIONS - SESSIONS);
  console.log(`open MCP sessions on one gateway, Node ${process.version}, ${os.cpus().length} CPU(s), load average ${os.loadavg()[0]!.toFixed(1)}`);
  console.log(`  server RSS with 1 session (warm)      ${idle.toFixed(0).padStart(6)} MiB`);
  console.log(`  server RSS with ${String(half).padEnd(6)} sessions      ${halfway.toFixed(0).padStart(6)} MiB`);
  console.log(`  server RSS with ${String(SESSIONS).padEnd(6)} sessions      ${held.toFixed(0).padStart(6)} MiB  (${perSession.toFixed(1)} KiB per session; opened at ${((SESSIONS - 1) / seconds).toFixed(0)}/s)`);
  if (SESSIONS < TARGET_SESSIONS) console.log(`  extrapolated to ${TARGET_SESSIONS} sessions       ${atTarget.toFixed(0).padStart(6)} MiB`);
  const figure = SESSIONS >= TARGET_SESSIONS ? `RSS with ${SESSIONS.toLocaleString('en-US')} open MCP sessions (vs 1)` : `RSS at 10,000 MCP sessions, extrapolated from ${SESSIONS.toLocaleString('en-US')} (vs 1)`;
  report([row(figure, atTarget, 'MiB', idle, atMost(1024, 'MiB'))]);
} finally {
  if (server) {
    await stopReplica(server);
    fs.rmSync(server.dataDir, { recursive: true, force: true });
  }
}
