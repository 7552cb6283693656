import type { OutEvent } from './render.ts';

/**
 * What every trail sink kind implements. `send` resolves once the batch is delivered — for a
 * receiver that acknowledges (HTTP 2xx, a JetStream publish ack) once it has them; for a plain
 * stream (syslog over TCP or TLS, no acknowledgement in RFC 6587/5425) once they left this host
 * on the current connection. It rejects with a message safe to store and show (no secret, no
 * URL path). Stream transports number their connections: the delivery loop confirms what it sent
 * only once the same connection has stayed up a while after, and sends it again otherwise.
 */
export interface TrailTransport {
  readonly acknowledges: boolean;
  /** The current connection's number (stream transports), and whether it is up. */
  connection(): { epoch: number; up: boolean };
  send(batch: readonly OutEvent[]): Promise<void>;
  close(): Promise<void>;
}

/** A failure as a transport reports it: the message is what operators see as the last error. */
export class TransportError extends Error {}

export function reachFailure(error: unknown): TransportError {
  if (error instanceof TransportError) return error;
  const e = error as { code?: string; cause?: { code?: string }; name?: string };
  const code = e.code ?? e.cause?.code ?? e.name ?? 'error';
  // Certificate failures are named: an operator fixes them differently from a receiver that is down.
  if (/CERT|SELF_SIGNED|ALTNAME|ISSUER|VERIFY/.test(code)) return new TransportError(`the receiver's TLS certificate was not accepted (${code})`);
  return new TransportError(`the receiver could not be reached (${code})`);
}
