import crypto from 'node:crypto';
import pino from 'pino';
import { expect } from 'vitest';
import { StoreAuditWriter } from '../src/audit/store-writer.ts';
import { masterKeyFrom } from '../src/identity/master-key.ts';
import { trailSinksRepository } from '../src/store/repositories/trail-sinks.ts';
import { addTrailSink, getTrailSink, type TrailSinkView } from '../src/stream/sinks.ts';
import type { TrailSinkSpec } from '../src/stream/spec.ts';
import { TrailStreamer } from '../src/stream/streamer.ts';
import type { TestStore } from './harness.ts';

/**
 * Streaming the trail through a receiver's restart, and checking what arrived: every event,
 * each chain in order once duplicates are dropped by event id (as a receiver would).
 */
export const master = masterKeyFrom(crypto.randomBytes(32));
export const CHAINS = 4;

export interface Received {
  id: string;
  chain: string;
  seq: number;
}

export interface Restartable {
  stop(signal?: NodeJS.Signals): Promise<void>;
  start(): Promise<void>;
}

export function streamerFor(t: TestStore) {
  return new TrailStreamer({ db: t.store.db, master, logger: pino({ level: 'silent' }), now: () => new Date(), productVersion: 'test', intervalMs: 30, confirmMs: 300, leaseSeconds: 5, timeoutMs: 2000, batchSize: 64 });
}

export async function until(what: string, probe: () => boolean | Promise<boolean>, ms = 20_000) {
  const end = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** `rounds` × CHAINS × `perChain` events, the chains interleaved, committed round by round. */
export async function appendRounds(writer: StoreAuditWriter, rounds: number, perChain: number, between: (round: number) => Promise<void> = async () => {}) {
  for (let round = 0; round < rounds; round++) {
    await between(round);
    const appends = [];
    for (let i = 0; i < perChain; i++) {
      for (let c = 0; c < CHAINS; c++) {
        appends.push(writer.append({ chain: `instance:bot-${c}`, type: 'tool.decision', actor: { agent: 'bot', instance: `bot-${c}`, person: 'alice', delegation: [] }, action: 'tools/call', resource: `tool-${round}-${i}`, status: 'success', decision: 'allow' }));
      }
    }
    await Promise.all(appends);
    await new Promise((resolve) => setTimeout(resolve, 40));
  }
}

/** Each trail event arrived; deduplicated by id, each chain's events came in their order. */
export async function expectComplete(t: TestStore, received: Received[]) {
  const repo = trailSinksRepository(t.store.db);
  const trail = await repo.trailAfter(-1, await repo.trailSize(), { types: [], environments: [] }, 1_000_000);
  const seen = new Set<string>();
  const lastSeq = new Map<string, number>();
  for (const r of received) {
    if (seen.has(r.id)) continue;
    seen.add(r.id);
    expect(r.seq, `${r.chain} out of order`).toBe((lastSeq.get(r.chain) ?? 0) + 1);
    lastSeq.set(r.chain, r.seq);
  }
  expect(trail.filter((e) => !seen.has(e.id)).map((e) => e.position)).toEqual([]);
  expect(seen.size).toBe(trail.length);
  return { events: trail.length, duplicates: received.length - seen.size };
}

/**
 * Add the sink (from the start of the trail), stream while 1200 events are appended, stop the
 * receiver after a third of them for a while and start it again; wait until the sink caught up.
 */
export async function streamThroughRestart(t: TestStore, spec: Pick<TrailSinkSpec, 'name' | 'kind' | 'settings'> & Partial<TrailSinkSpec>, receiver: Restartable, signal?: NodeJS.Signals): Promise<TrailSinkView> {
  await addTrailSink(t.store.db, master, { format: 'jsonl', events: [], environments: [], from: 'start', ...spec }, new Date());
  const writer = new StoreAuditWriter(t.store);
  const streamer = streamerFor(t);
  streamer.start();
  try {
    await appendRounds(writer, 12, 25, async (round) => {
      if (round === 4) {
        await receiver.stop(signal);
        await new Promise((resolve) => setTimeout(resolve, 400));
      }
      if (round === 7) await receiver.start();
    });
    await writer.flush();
    const size = await trailSinksRepository(t.store.db).trailSize();
    await until(`${spec.name} caught up`, async () => (await getTrailSink(t.store.db, spec.name, new Date())).delivered_through === size - 1);
  } finally {
    await streamer.stop();
    await writer.close();
  }
  const view = await getTrailSink(t.store.db, spec.name, new Date());
  expect(view.lag.events).toBe(0);
  // The receiver was down for a while: the sink saw failures, and recovered.
  expect(view.errors).toBeGreaterThan(0);
  expect(view.failures).toBe(0);
  return view;
}

const SYSLOG_LINE = /^<(\d+)>1 (\S+) (\S+) mandate - (\S+) \[mandate@32473 id="([^"]+)" chain="([^"]+)" seq="(\d+)"\] (.*)$/;

/** rsyslog's lines (the raw RFC 5424 messages) as events; each message whole, its SD naming its event. */
export function fromSyslog(lines: string[]): Received[] {
  return lines.map((line) => {
    const m = SYSLOG_LINE.exec(line);
    if (!m) throw new Error(`not an RFC 5424 trail message: ${line.slice(0, 120)}`);
    const event = JSON.parse(m[8]!) as Received;
    expect([event.id, event.chain, event.seq]).toEqual([m[5], m[6], Number(m[7])]);
    return { id: event.id, chain: event.chain, seq: event.seq };
  });
}
