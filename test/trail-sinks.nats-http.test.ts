import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySignature } from '../src/notify/signature.ts';
import { dialects, openTestStore, type TestStore } from './harness.ts';
import { NATS_SERVER, startHttpReceiver, startNats } from './trail-receivers.kit.ts';
import { expectComplete, type Received, streamThroughRestart } from './trail-stream.kit.ts';

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

  it.skipIf(!NATS_SERVER)('NATS JetStream, killed and restarted', async () => {
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
});
