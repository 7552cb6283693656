// Streaming the trail to a syslog sink (RFC 5424 over TCP, octet counting) and a NATS JetStream
// sink: events/s from the stored trail to the receiver, next to a baseline taken in the same run
// on the same bytes (syslog: the rendered frames written raw to a socket; NATS: the rendered
// messages published straight to JetStream with the same acknowledgements).
// Run: node bench/sinks.ts   (BENCH_EVENTS; BENCH_DATABASE_URL for PostgreSQL)
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { connect } from 'nats';
import pino from 'pino';
import { StoreAuditWriter } from '../src/audit/store-writer.ts';
import type { AuditRecord } from '../src/audit/writer.ts';
import { masterKeyFrom } from '../src/identity/master-key.ts';
import { trailSinksRepository } from '../src/store/repositories/trail-sinks.ts';
import { openStore } from '../src/store/open.ts';
import { renderEvents } from '../src/stream/render.ts';
import { addTrailSink } from '../src/stream/sinks.ts';
import { TrailStreamer } from '../src/stream/streamer.ts';
import { octetCounted, syslogMessage } from '../src/stream/transports/syslog.ts';
import { benchStore } from './bench-store.ts';
import { atLeast, report, row } from './summary.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 100_000);
const BATCH = 1000;
const NATS_SERVER = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((p) => fs.existsSync(p));
const master = masterKeyFrom(crypto.randomBytes(32));

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
    probe.on('error', reject);
  });

async function listening(port: number) {
  for (let i = 0; i < 200; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}

/** A gateway decision as the enforcement point writes it (about 700 canonical bytes). */
function record(chain: string, i: number): AuditRecord {
  const denied = i % 10 === 4;
  return {
    chain,
    type: 'tool.decision',
    actor: { instance: chain.slice(9), agent: 'triage-bot', person: 'alice@example.com', delegation: ['alice@example.com', `spiffe://mandate.local/agent/triage-bot/i/${chain.slice(9)}`] },
    action: 'tools/call',
    resource: 'github/create_issue',
    decision: denied ? 'deny' : 'allow',
    status: denied ? 'failure' : 'success',
    denial_reason: denied ? 'ERR_POLICY_DENIED' : null,
    reasons: { scope: 'tool:github/* covered', policies: [denied ? 'forbid-prod-writes' : 'permit-issue-triage'], budget: { limit: 100, spent: i % 100, remaining: 100 - (i % 100) } },
    policy_version: 'sha256:3f1a9c0e',
    trace_id: (i.toString(16) + '4bf92f3577b34da6a3ce929d0e0e4736').slice(0, 32).padStart(32, '0'),
    args_digest: `hmac-sha256:${(i % 16).toString(16).repeat(64)}`,
    args: { repo: 'acme/api', title: `Flaky test #${i}` },
    cost: 0,
    data: { resources: [`call-${i}`] },
  };
}

// A receiver in a process of its own that reads and drops what it gets (syslog's receiving side is not measured).
const discardPort = await freePort();
const discard = spawn(process.execPath, ['-e', `require('net').createServer((s) => s.on('data', () => {})).listen(${discardPort}, '127.0.0.1')`], { stdio: 'ignore' });
process.once('exit', () => discard.kill());
await listening(discardPort);

const natsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mandate-bench-nats-'));
const natsPort = await freePort();
const nats = NATS_SERVER ? spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(natsPort), '-js', '-sd', natsDir], { stdio: 'ignore' }) : undefined;
process.once('exit', () => nats?.kill());
if (nats) await listening(natsPort);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mandate-bench-sinks-'));
const where = benchStore();
const store = await openStore({ dataDir, ...(where.databaseUrl ? { databaseUrl: where.databaseUrl, pgSchema: where.pgSchema! } : {}) });
try {
  const writer = new StoreAuditWriter(store);
  const started = performance.now();
  for (let i = 0; i < EVENTS; i += 2000) await Promise.all(Array.from({ length: Math.min(2000, EVENTS - i) }, (_, j) => writer.append(record(`instance:bot-${(i + j) % 100}`, i + j))));
  await writer.close();
  console.log(`trail: ${EVENTS} events appended in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const repo = trailSinksRepository(store.db);
  const trail = await repo.trailAfter(-1, await repo.trailSize(), { types: [], environments: [] }, EVENTS);
  const rendered = renderEvents(trail, 'jsonl', 'bench');

  /** Events/s from the trail to the receiver: the streamer from start until every event was sent. */
  const stream = async (name: string, spec: Parameters<typeof addTrailSink>[2]['settings'], kind: 'syslog-tcp' | 'nats-jetstream') => {
    await addTrailSink(store.db, master, { name, kind, format: 'jsonl', events: [], environments: [], from: 'start', settings: spec }, new Date());
    let sent = 0;
    let done: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const streamer = new TrailStreamer({ db: store.db, master, logger: pino({ level: 'silent' }), now: () => new Date(), productVersion: 'bench', intervalMs: 20, batchSize: BATCH, onDelivered: (_s, n) => (sent += n) >= EVENTS && done() });
    const t0 = performance.now();
    streamer.start();
    await finished;
    const seconds = (performance.now() - t0) / 1000;
    await streamer.stop();
    await repo.remove(name);
    return EVENTS / seconds;
  };

  // Syslog: the same frames written raw, a batch at a time, each write awaited as the sink does.
  const hostname = os.hostname();
  const frames: string[] = [];
  for (let i = 0; i < rendered.length; i += BATCH) frames.push(rendered.slice(i, i + BATCH).map((e) => octetCounted(syslogMessage(e, hostname))).join(''));
  const socket = net.connect(discardPort, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  const r0 = performance.now();
  for (const chunk of frames) await new Promise<void>((resolve, reject) => socket.write(chunk, (e) => (e ? reject(e) : resolve())));
  const rawSyslog = EVENTS / ((performance.now() - r0) / 1000);
  socket.destroy();
  const syslog = await stream('bench-syslog', { address: `127.0.0.1:${discardPort}` }, 'syslog-tcp');
  console.log(`syslog over TCP: ${syslog.toFixed(0)} events/s streamed from the trail; raw socket writes of the same frames ${rawSyslog.toFixed(0)}/s`);
  const rows = [row(`trail sink syslog-tcp, events streamed${where.tag}`, syslog, '/s', rawSyslog, atLeast(50_000, '/s'))];

  if (nats) {
    // NATS: the same messages published straight to JetStream, a batch of acknowledged publishes at a time.
    const nc = await connect({ servers: `nats://127.0.0.1:${natsPort}` });
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'BASELINE', subjects: ['baseline.>'] });
    const js = nc.jetstream();
    const encoder = new TextEncoder();
    const n0 = performance.now();
    for (let i = 0; i < rendered.length; i += BATCH) {
      await Promise.all(rendered.slice(i, i + BATCH).map((e) => js.publish(`baseline.${e.type}`, encoder.encode(e.text), { msgID: e.id })));
    }
    const rawNats = EVENTS / ((performance.now() - n0) / 1000);
    await nc.close();
    const streamed = await stream('bench-nats', { servers: [`nats://127.0.0.1:${natsPort}`], subject: 'mandate.trail', stream: 'MANDATE_TRAIL' }, 'nats-jetstream');
    console.log(`NATS JetStream: ${streamed.toFixed(0)} events/s streamed from the trail; direct JetStream publishes of the same messages ${rawNats.toFixed(0)}/s`);
    rows.push(row(`trail sink nats-jetstream, events streamed${where.tag}`, streamed, '/s', rawNats, atLeast(50_000, '/s')));
  } else console.log('no nats-server binary: the NATS sink is not measured');
  report(rows);
} finally {
  await store.close();
  await where.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.rmSync(natsDir, { recursive: true, force: true });
  discard.kill();
  nats?.kill();
}
