import { z } from 'zod';
import { EVENT_TYPE } from '../audit/event.ts';
import { MandateError } from '../errors.ts';

/** What a sink is asked to be, as the API accepts it. */
export const SINK_FORMATS = ['json', 'slack'] as const;
export type SinkFormat = (typeof SINK_FORMATS)[number];
export const DEFAULT_EVENTS = ['approval.requested'];

export const sinkSpecSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, 'lowercase letters, digits, _ . - (up to 64)'),
  url: z.string().min(1).max(2048),
  format: z.enum(SINK_FORMATS).default('json'),
  events: z.array(z.string().regex(EVENT_TYPE, 'must be an audit event type')).min(1).max(32).default(DEFAULT_EVENTS),
  /** The signing key itself (sealed at rest, never returned)… */
  key: z.string().min(1).max(4096).optional(),
  /** …or the name of a stored secret holding it. */
  key_secret: z.string().min(1).max(320).optional(),
});
export type SinkSpec = z.output<typeof sinkSpecSchema>;

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** https anywhere, plain http only to this host (a local relay or a test receiver). */
export function checkSinkUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new MandateError('ERR_SINK_URL', 'the sink URL is not a URL');
  }
  if (url.username || url.password) throw new MandateError('ERR_SINK_URL', 'the sink URL must not hold credentials; sign with a key instead');
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && (LOOPBACK.has(url.hostname) || url.hostname.startsWith('127.'))) return url;
  throw new MandateError('ERR_SINK_URL', 'the sink URL must be https (plain http only to a loopback address)');
}

/** A key shorter than this is guessable offline from one signed delivery. */
export const MIN_KEY_LENGTH = 16;

export function checkKeyChoice(spec: SinkSpec): void {
  if ((spec.key === undefined) === (spec.key_secret === undefined)) {
    throw new MandateError('ERR_SINK_KEY', 'give the signing key either as key or as key_secret (a stored secret), exactly one');
  }
  if (spec.key !== undefined && spec.key.length < MIN_KEY_LENGTH) throw new MandateError('ERR_SINK_KEY', `the signing key must be at least ${MIN_KEY_LENGTH} characters`);
}
