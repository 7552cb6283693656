// Trail sink into NATS JetStream: one message per event, `Nats-Msg-Id` = the event id
import { connect, type JetStreamClient, type NatsConnection } from 'nats';
import type { OutEvent } from '../render.ts';
import { reachFailure, TransportError, type TrailTransport } from '../transport.ts';

export interface NatsSinkOptions {
  servers: string[];
  /** Events go to `<subject>.<event type>`, e.g. `mandate.trail.tool.decision`. */
  subject: string;
  /** Created for `<subject>.>` when missing. */
  stream?: string;
  token?: string;
  timeoutMs: number;
}

/**
 * Each publish waits for the stream's acknowledgement, so a batch counts as delivered only once
 * JetStream stored it. The event id as `Nats-Msg-Id` lets the stream itself drop a redelivery
 * within its duplicate window (two minutes by default); consumers can drop later ones by id.
 */
export class NatsTransport implements TrailTransport {
  readonly acknowledges = true;
  readonly #o: NatsSinkOptions;
  #nc: NatsConnection | undefined;
  #js: JetStreamClient | undefined;
  #opening: Promise<JetStreamClient> | undefined;
  readonly #encoder = new TextEncoder();

  constructor(options: NatsSinkOptions) {
    this.#o = options;
  }

  connection() {
    return { epoch: 0, up: this.#nc !== undefined && !this.#nc.isClosed() };
  }

  async send(batch: readonly OutEvent[]): Promise<void> {
    const js = await this.#open();
    const { subject, timeoutMs } = this.#o;
    try {
      // Published in order on one connection, so the stream stores them in order.
      const acks = batch.map((e) => js.publish(`${subject}.${e.type}`, this.#encoder.encode(e.text), { msgID: e.id, timeout: timeoutMs }));
      await Promise.all(acks);
    } catch (error) {
      throw natsFailure(error);
    }
  }

  async close(): Promise<void> {
    const nc = this.#nc;
    this.#nc = undefined;
    this.#js = undefined;
    await nc?.close().catch(() => {});
  }

  #open(): Promise<JetStreamClient> {
    if (this.#js && this.#nc && !this.#nc.isClosed()) return Promise.resolve(this.#js);
    this.#opening ??= (async () => {
      try {
        const nc = await connect({
          servers: this.#o.servers,
          ...(this.#o.token ? { token: this.#o.token } : {}),
          name: 'mandate-trail',
          timeout: this.#o.timeoutMs,
          reconnect: true,
          maxReconnectAttempts: -1,
          reconnectTimeWait: 250,
        });
        if (this.#o.stream) {
          const jsm = await nc.jetstreamManager({ timeout: this.#o.timeoutMs });
          await jsm.streams.info(this.#o.stream).catch(async () => jsm.streams.add({ name: this.#o.stream!, subjects: [`${this.#o.subject}.>`] }));
        }
        this.#nc = nc;
        this.#js = nc.jetstream({ timeout: this.#o.timeoutMs });
        return this.#js;
      } catch (error) {
        throw natsFailure(error);
      } finally {
        this.#opening = undefined;
      }
    })();
    return this.#opening;
  }
}

function natsFailure(error: unknown): TransportError {
  const code = (error as { code?: string }).code;
  if (code === '503') return new TransportError('no JetStream stream takes the subject (503): create one or set settings.stream');
  if (code === 'TIMEOUT' || code === '408') return new TransportError('JetStream did not acknowledge in time');
  return code ? new TransportError(`NATS refused or could not be reached (${code})`) : reachFailure(error);
}
