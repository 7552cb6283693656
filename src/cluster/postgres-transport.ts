import crypto from 'node:crypto';
import pg from 'pg';
import { currentSchema, notify } from '../store/postgres.ts';
import type { Store } from '../store/store.ts';
import type { ChangeTransport } from './feed.ts';

export interface PostgresTransportOptions {
  /** The connection string the store uses (its `options=-c search_path=…` included). */
  databaseUrl: string;
  /** The schema this deployment lives in: replicas of another schema on the same database never hear it. */
  schema: string;
  /** How often the listening connection proves it is alive, and how long it may take. */
  heartbeatMs?: number;
  heartbeatTimeoutMs?: number;
}

/** One channel per schema, a safe identifier whatever the schema is called. */
export function channelFor(schema: string): string {
  return `mandate_${crypto.createHash('sha256').update(schema).digest('hex').slice(0, 24)}`;
}

export { currentSchema };

/**
 * PostgreSQL LISTEN/NOTIFY: `pg_notify` inside the writer's transaction (sent on commit), one
 * dedicated listening connection per replica with a heartbeat, so a dead connection (or a database
 * that stopped answering) is noticed within `heartbeatMs + heartbeatTimeoutMs`.
 */
export class PostgresTransport implements ChangeTransport {
  readonly #options: Required<PostgresTransportOptions>;
  readonly #channel: string;
  #client: pg.Client | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #generation = 0;

  constructor(options: PostgresTransportOptions) {
    this.#options = { heartbeatMs: 1_000, heartbeatTimeoutMs: 2_000, ...options };
    this.#channel = channelFor(options.schema);
  }

  get channel(): string {
    return this.#channel;
  }

  /** How the listening connection shows in `pg_stat_activity`. */
  get applicationName(): string {
    return `mandate feed ${this.#channel}`;
  }

  async notify(db: Store['db'], payload: string): Promise<void> {
    await notify(db, this.#channel, payload);
  }

  async listen(onPayload: (payload: string) => void, onLost: (error: Error) => void): Promise<void> {
    this.#drop();
    const generation = ++this.#generation;
    const client = new pg.Client({ connectionString: this.#options.databaseUrl, connectionTimeoutMillis: 5_000, keepAlive: true, application_name: this.applicationName });
    let lost = false;
    const lose = (error: Error) => {
      if (lost || generation !== this.#generation) return;
      lost = true;
      this.#drop();
      onLost(error);
    };
    client.on('error', (error) => lose(error));
    client.on('end', () => lose(new Error('change feed connection ended')));
    client.on('notification', (message) => {
      if (message.channel === this.#channel) onPayload(message.payload ?? '');
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${this.#channel}`);
    } catch (error) {
      lost = true;
      client.end().catch(() => {});
      throw error;
    }
    this.#client = client;
    let inFlight = false;
    this.#heartbeat = setInterval(() => {
      if (inFlight) return;
      inFlight = true;
      const timer = setTimeout(() => lose(new Error('database did not answer the change feed heartbeat')), this.#options.heartbeatTimeoutMs);
      client.query('select 1').then(
        () => {
          clearTimeout(timer);
          inFlight = false;
        },
        (error: Error) => {
          clearTimeout(timer);
          lose(error);
        },
      );
    }, this.#options.heartbeatMs);
    this.#heartbeat.unref();
  }

  /** Stop listening on the current connection (it is ended; a hung socket is destroyed). */
  #drop(): void {
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    const client = this.#client;
    this.#client = undefined;
    if (!client) return;
    client.removeAllListeners('notification');
    client.on('error', () => {});
    const stream = (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
    client.end().catch(() => {});
    setTimeout(() => stream?.destroy(), 1_000).unref();
  }

  async close(): Promise<void> {
    this.#generation++;
    this.#drop();
  }
}
