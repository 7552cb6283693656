import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySignature } from '../src/notify/signature.ts';
import { dialects, openTestStore, type TestStore } from './harness.ts';
import { makeCertificates, NATS_SERVER, requireReceiver, startHttpReceiver, startNats } from './trail-receivers.kit.ts';
import pino from 'pino';
import { StoreAuditWriter } from '../src/audit/store-writer.ts';
import { trailSinksRepository } from '../src/store/repositories/trail-sinks.ts';
import { addTrailSink, getTrailSink } from '../src/stream/sinks.ts';
import type { TrailSinkSpec } from '../src/stream/spec.ts';
import { TrailStreamer } from '../src/stream/streamer.ts';
import { appendRounds, expectComplete, master, type Received, streamerFor, streamThroughRestart, until } from './trail-stream.kit.ts';

/**
 * Every event reaches a NATS server's JetStream (a server of the test's own, killed and started
 * again on its file store) and a signed HTTP webhook (stopped and started again) mid-stream.
 */
const WEBHOOK_KEY = 'whsec-trail-0123456789abcdef';

describe.each(await dialects())('trail sinks deliver every event to NATS JetStream and webhooks through restarts (%s)', { timeout: 60_000 }, (dialect) => {
  let t: TestStore;
  beforeAll(async () => {
    t = await openTestStore(dialect);
  });
  afterAll(() => t.cleanup());

  it.skipIf(!requireReceiver(NATS_SERVER !== undefined, 'nats-server'))('NATS JetStream, killed and restarted', async () => {
    const nats = await startNats();
    let nc: NatsConnection | undefined;
    try {
      await streamThroughRestart(t, { name: 'nats', kind: 'nats-jetstream', settings: { servers: [nats.url], subject: 'mandate.trail', stream: 'MANDATE_TRAIL' } }, nats, 'SIGKILL');
      nc = await connect({ servers: nats.url });
      const jsm = await nc.jetstreamManager();
      const info = await jsm.streams.info('MANDATE_TRAIL');
      const received: Received[] = [];
      for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
        const message = await jsm.streams.getMessage('MANDATE_TRAIL', { seq });
        const event = JSON.parse(new TextDecoder().decode(message.data)) as Received & { type: string };
        expect(message.subject).toBe(`mandate.trail.${event.type}`);
        expect(message.header.get('Nats-Msg-Id')).toBe(event.id);
        received.push(event);
      }
      await expectComplete(t, received);
    } finally {
      await nc?.close();
      await nats.stop();
    }
  });

  it('a signed HTTP webhook, stopped and restarted', async () => {
    const receiver = await startHttpReceiver();
    try {
      await streamThroughRestart(t, { name: 'webhook', kind: 'http-webhook', format: 'ocsf', settings: { url: `${receiver.url}/trail` }, secret: WEBHOOK_KEY }, receiver);
      const received: Received[] = [];
      for (const request of receiver.requests) {
        expect(verifySignature(WEBHOOK_KEY, request.body, request.headers['mandate-signature'] as string, new Date())).toBe(true);
        const { events } = JSON.parse(request.body) as { events: Array<{ metadata: { uid: string; log_name: string; sequence: number } }> };
        expect(Number(request.headers['mandate-event-count'])).toBe(events.length);
        received.push(...events.map((e) => ({ id: e.metadata.uid, chain: e.metadata.log_name, seq: e.metadata.sequence })));
      }
      await expectComplete(t, received);
    } finally {
      await receiver.stop();
    }
  });

  /** Stream 200 new events to a fresh sink until it caught up; the receiver's requests. */
  async function streamOnce(spec: Pick<TrailSinkSpec, 'name' | 'kind' | 'settings'> & Partial<TrailSinkSpec>, streamers = [streamerFor(t)]) {
    await addTrailSink(t.store.db, master, { format: 'jsonl', events: [], environments: [], from: 'now', ...spec }, new Date());
    const writer = new StoreAuditWriter(t.store);
    for (const s of streamers) s.start();
    try {
      await appendRounds(writer, 2, 25);
      await writer.flush();
      const size = await trailSinksRepository(t.store.db).trailSize();
      await until(`${spec.name} caught up`, async () => (await getTrailSink(t.store.db, spec.name, new Date())).delivered_through === size - 1);
    } finally {
      for (const s of streamers) await s.stop();
      await writer.close();
    }
  }

  it('Splunk HEC: batched events at /services/collector/event with Authorization: Splunk <token>, the event id indexed', async () => {
    const receiver = await startHttpReceiver();
    try {
      const before = await trailSinksRepository(t.store.db).trailSize();
      await streamOnce({ name: 'hec', kind: 'splunk-hec', format: 'ocsf', settings: { url: receiver.url, index: 'security', sourcetype: 'mandate:ocsf' }, secret: 'hec-token-0123456789' });
      expect(receiver.requests.length).toBeGreaterThan(0);
      const events: Array<{ time: number; index: string; sourcetype: string; fields: { event_id: string }; event: { metadata: { uid: string } } }> = [];
      for (const request of receiver.requests) {
        expect(request.path).toBe('/services/collector/event');
        expect(request.headers.authorization).toBe('Splunk hec-token-0123456789');
        events.push(...request.body.split('\n').map((line) => JSON.parse(line)));
      }
      expect(events.length).toBe((await trailSinksRepository(t.store.db).trailSize()) - before);
      for (const e of events) {
        expect(e).toMatchObject({ index: 'security', sourcetype: 'mandate:ocsf' });
        expect(e.fields.event_id).toBe(e.event.metadata.uid);
        expect(typeof e.time).toBe('number');
      }
    } finally {
      await receiver.stop();
    }
  });

  it('OTLP logs: an ExportLogsServiceRequest at /v1/logs, one log record per event with its id', async () => {
    const receiver = await startHttpReceiver();
    try {
      await streamOnce({ name: 'otlp', kind: 'otlp-logs', settings: { url: `${receiver.url}/otlp` } });
      const records = receiver.requests.flatMap((request) => {
        expect(request.path).toBe('/otlp/v1/logs');
        expect(request.headers['content-type']).toBe('application/json');
        const body = JSON.parse(request.body);
        expect(body.resourceLogs[0].resource.attributes).toContainEqual({ key: 'service.name', value: { stringValue: 'mandate' } });
        return body.resourceLogs[0].scopeLogs[0].logRecords as Array<{ timeUnixNano: string; severityNumber: number; body: { stringValue: string }; attributes: Array<{ key: string; value: { stringValue?: string } }> }>;
      });
      expect(records.length).toBe(200);
      for (const r of records) {
        const event = JSON.parse(r.body.stringValue);
        expect(r.attributes).toContainEqual({ key: 'event.id', value: { stringValue: event.id } });
        expect(r.timeUnixNano).toBe(`${Date.parse(event.time)}000000`);
        expect(r.severityNumber).toBe(9);
      }
    } finally {
      await receiver.stop();
    }
  });

  it('with two replicas streaming, one at a time holds a sink: each event goes out once', async () => {
    const receiver = await startHttpReceiver();
    const sent = [0, 0];
    const streamers = [0, 1].map((i) => new TrailStreamer({ db: t.store.db, master, logger: pino({ level: 'silent' }), now: () => new Date(), productVersion: 'test', intervalMs: 20, leaseSeconds: 30, onDelivered: (_s, n) => (sent[i]! += n) }));
    try {
      await streamOnce({ name: 'shared', kind: 'http-webhook', settings: { url: `${receiver.url}/hook` }, secret: WEBHOOK_KEY }, streamers);
      const ids = receiver.requests.flatMap((r) => (JSON.parse(r.body) as { events: Array<{ id: string }> }).events.map((e) => e.id));
      expect(ids.length).toBe(200);
      expect(new Set(ids).size).toBe(200);
      expect(sent.filter((n) => n > 0)).toEqual([200]);
    } finally {
      await receiver.stop();
    }
  });

  it('a webhook over https trusts the private CA given, and sends nothing to a receiver another CA signed', async () => {
    const certs = makeCertificates();
    const bodies: string[] = [];
    const server = https.createServer({ cert: fs.readFileSync(certs.serverCert), key: fs.readFileSync(certs.serverKey) }, (req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        bodies.push(body);
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    try {
      await streamOnce({ name: 'https-hook', kind: 'http-webhook', settings: { url, ca: certs.ca }, secret: WEBHOOK_KEY });
      expect(bodies.flatMap((b) => (JSON.parse(b) as { events: unknown[] }).events)).toHaveLength(200);
      const streamer = streamerFor(t);
      await addTrailSink(t.store.db, master, { name: 'https-wrong-ca', kind: 'http-webhook', format: 'jsonl', events: [], environments: [], from: 'start', settings: { url, ca: certs.otherCa }, secret: WEBHOOK_KEY }, new Date());
      const before = bodies.length;
      streamer.start();
      try {
        await until('a failure', async () => (await getTrailSink(t.store.db, 'https-wrong-ca', new Date())).failures > 0);
      } finally {
        await streamer.stop();
      }
      const refused = await getTrailSink(t.store.db, 'https-wrong-ca', new Date());
      expect(refused.delivered).toBe(0);
      expect(refused.last_error).toMatch(/TLS certificate was not accepted/);
      expect(bodies.length).toBe(before);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
