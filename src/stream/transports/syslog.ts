// RFC 5424 syslog messages, framed by octet counting (RFC 6587 §3.4.1), over TCP or TLS (RFC 5425)
import net from 'node:net';
import os from 'node:os';
import tls from 'node:tls';
import type { Severity } from '../../audit/export/severity.ts';
import type { OutEvent } from '../render.ts';
import { reachFailure, TransportError, type TrailTransport } from '../transport.ts';

/** RFC 5424 §6.2.1: facility 13, "log audit". */
const FACILITY = 13;
/** RFC 5424 severities: informational 6, notice 5, warning 4, error 3. */
const SEVERITY: Record<Severity, number> = { informational: 6, low: 5, medium: 4, high: 3 };
/** RFC 5612: the enterprise number set aside for documentation, until Mandate registers its own. */
export const SD_ID = 'mandate@32473';

/** RFC 5424 §6.3.3: PARAM-VALUE escapes `"`, `\` and `]`. */
const paramValue = (value: string) => (/["\\\]]/.test(value) ? value.replace(/["\\\]]/g, '\\$&') : value);

/** RFC 5424 §6: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] MSG`, the event id in the SD. */
export function syslogMessage(event: OutEvent, hostname: string): string {
  const pri = FACILITY * 8 + SEVERITY[event.severity];
  const sd = `[${SD_ID} id="${paramValue(event.id)}" chain="${paramValue(event.chain)}" seq="${event.seq}"]`;
  // MSGID is at most 32 printable characters (§6.2.7); event types are shorter.
  return `<${pri}>1 ${event.time} ${hostname} mandate - ${event.type.slice(0, 32)} ${sd} ${event.text}`;
}

/** RFC 6587 §3.4.1: `MSG-LEN SP SYSLOG-MSG`, the length in octets. */
export const octetCounted = (message: string) => `${Buffer.byteLength(message)} ${message}`;

/** A batch as the bytes on the wire: each message encoded once, its length taken from the bytes. */
export function framedBatch(messages: readonly string[]): Buffer {
  const parts: Buffer[] = [];
  for (const message of messages) {
    const bytes = Buffer.from(message);
    parts.push(Buffer.from(`${bytes.length} `), bytes);
  }
  return Buffer.concat(parts);
}

export interface SyslogOptions {
  host: string;
  port: number;
  /** RFC 5425: TLS with the receiver's certificate verified against `ca` (else the system's). */
  tls?: { ca?: string; servername?: string; cert?: string; key?: string };
  hostname?: string;
  timeoutMs: number;
}

export class SyslogTransport implements TrailTransport {
  readonly acknowledges = false;
  readonly #o: SyslogOptions;
  readonly #hostname: string;
  #socket: net.Socket | undefined;
  #epoch = 0;

  constructor(options: SyslogOptions) {
    this.#o = options;
    this.#hostname = options.hostname ?? (os.hostname().replace(/[^!-~]/g, '') || '-');
  }

  connection() {
    const s = this.#socket;
    return { epoch: this.#epoch, up: s !== undefined && !s.destroyed && s.writable };
  }

  async send(batch: readonly OutEvent[]): Promise<void> {
    const socket = await this.#connect();
    const frames = framedBatch(batch.map((e) => syslogMessage(e, this.#hostname)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new TransportError('the receiver did not take the events in time'));
      }, this.#o.timeoutMs);
      socket.write(frames, (error) => {
        clearTimeout(timer);
        if (error) reject(reachFailure(error));
        else resolve();
      });
    });
  }

  async close(): Promise<void> {
    const socket = this.#socket;
    this.#socket = undefined;
    if (!socket || socket.destroyed) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.end();
      setTimeout(() => socket.destroy(), 1000).unref();
    });
  }

  #connect(): Promise<net.Socket> {
    const current = this.#socket;
    if (current && !current.destroyed && current.writable) return Promise.resolve(current);
    current?.destroy();
    this.#socket = undefined;
    const { host, port, timeoutMs } = this.#o;
    const secure = this.#o.tls;
    return new Promise((resolve, reject) => {
      const socket = secure
        ? tls.connect({
            host,
            port,
            ca: secure.ca,
            cert: secure.cert,
            key: secure.key,
            // SNI takes a name, never an address; the certificate is checked against `host` either way.
            servername: secure.servername ?? (net.isIP(host) ? undefined : host),
            ...(secure.servername ? { checkServerIdentity: (_h: string, cert: tls.PeerCertificate) => tls.checkServerIdentity(secure.servername!, cert) } : {}),
            rejectUnauthorized: true,
          })
        : net.connect({ host, port });
      const timer = setTimeout(() => socket.destroy(new TransportError('the receiver did not answer in time')), timeoutMs);
      const fail = (error: Error) => {
        clearTimeout(timer);
        reject(reachFailure(error));
      };
      socket.once('error', fail);
      socket.once(secure ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.off('error', fail);
        socket.setNoDelay(true);
        socket.setKeepAlive(true, 10_000);
        // A receiver that goes away ends the connection: the next send opens a new one, and
        // what was sent on this one and not yet confirmed is sent again.
        socket.on('error', () => socket.destroy());
        socket.on('end', () => socket.destroy());
        // Receivers send nothing back; drain anything so the socket never stalls.
        socket.on('data', () => {});
        this.#socket = socket;
        this.#epoch++;
        resolve(socket);
      });
    });
  }
}
