// Webhook signatures: HMAC-SHA256 over a timestamp and the body, replay-safe
import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * `Mandate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(key, t + "." + body)>`. The timestamp
 * is inside the MAC, so a receiver that rejects old `t` (default tolerance five minutes) cannot be
 * replayed an old delivery; the event id in the body lets it drop a redelivered one.
 */
export const SIGNATURE_HEADER = 'mandate-signature';
export const DEFAULT_TOLERANCE_SECONDS = 300;

const mac = (key: string, t: number, body: string) => createHmac('sha256', key).update(`${t}.${body}`).digest('hex');

export function signatureHeader(key: string, body: string, now: Date): string {
  const t = Math.floor(now.getTime() / 1000);
  return `t=${t},v1=${mac(key, t, body)}`;
}

/** What a receiver does: true only for a fresh timestamp and a matching MAC. */
export function verifySignature(key: string, body: string, header: string | null | undefined, now: Date, toleranceSeconds = DEFAULT_TOLERANCE_SECONDS): boolean {
  if (!header) return false;
  const parts = new Map(header.split(',').map((p) => p.trim().split('=', 2) as [string, string]));
  const t = Number(parts.get('t'));
  const v1 = parts.get('v1') ?? '';
  if (!Number.isInteger(t) || !/^[0-9a-f]{64}$/.test(v1)) return false;
  if (Math.abs(now.getTime() / 1000 - t) > toleranceSeconds) return false;
  return timingSafeEqual(Buffer.from(mac(key, t, body), 'hex'), Buffer.from(v1, 'hex'));
}
