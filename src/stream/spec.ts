import { z } from 'zod';
import { EVENT_TYPE } from '../audit/event.ts';
import { EXPORT_FORMATS } from '../audit/export/stream.ts';
import { MandateError } from '../errors.ts';
import { checkSinkUrl } from '../notify/sink-spec.ts';

/** What a trail sink is asked to be, as the API accepts it; `checkTrailSinkSpec` adds the rules of each kind. */
export const TRAIL_SINK_KINDS = ['syslog-tcp', 'syslog-tls', 'http-webhook', 'splunk-hec', 'nats-jetstream', 'otlp-logs'] as const;
export type TrailSinkKind = (typeof TRAIL_SINK_KINDS)[number];
export type TrailFormat = (typeof EXPORT_FORMATS)[number];

const pem = z.string().min(1).max(65_536);

/** Settings a kind may use; what is not secret is stored and shown as given (PEM as a fingerprint). */
export const trailSinkSettingsSchema = z.strictObject({
  /** `host:port` of a syslog receiver. */
  address: z.string().min(3).max(300).optional(),
  /** The receiver's URL: the webhook itself, the HEC or OTLP base (the standard path is added). */
  url: z.string().min(1).max(2048).optional(),
  /** NATS server URLs, `nats://host:port`. */
  servers: z.array(z.string().regex(/^(?:nats|tls):\/\/[^\s/]+$/, 'must be nats://host:port')).min(1).max(8).optional(),
  /** NATS subject events are published on. */
  subject: z.string().regex(/^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/, 'must be a NATS subject without wildcards').max(200).optional(),
  /** JetStream stream to create for the subject when missing. */
  stream: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(),
  /** PEM CA certificates that verify the receiver's TLS certificate (else the system's). */
  ca: pem.optional(),
  /** The name the receiver's certificate must carry (else the address's host). */
  server_name: z.string().min(1).max(253).optional(),
  /** PEM client certificate for mutual TLS; its key is the sink's secret. */
  client_cert: pem.optional(),
  /** Splunk index and sourcetype. */
  index: z.string().min(1).max(100).optional(),
  sourcetype: z.string().min(1).max(100).optional(),
  /** RFC 5424 HOSTNAME (else the machine's). */
  hostname: z.string().regex(/^[!-~]{1,255}$/).optional(),
});
export type TrailSinkSettings = z.output<typeof trailSinkSettingsSchema>;

export const trailSinkSpecSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, 'lowercase letters, digits, _ . - (up to 64)'),
  kind: z.enum(TRAIL_SINK_KINDS),
  format: z.enum(EXPORT_FORMATS).default('jsonl'),
  /** Event types it takes; empty takes every type. */
  events: z.array(z.string().regex(EVENT_TYPE, 'must be an audit event type')).max(64).default([]),
  /** Environments of the acting agent it takes; empty takes every event, with or without an agent. */
  environments: z.array(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/)).max(16).default([]),
  /** `now`: events appended from now on; `start`: the whole trail first. */
  from: z.enum(['now', 'start']).default('now'),
  settings: trailSinkSettingsSchema.default({}),
  /** The kind's secret: webhook signing key, HEC token, TLS client key (PEM), NATS or OTLP token. Sealed, never returned. */
  secret: z.string().min(1).max(65_536).optional(),
});
export type TrailSinkSpec = z.output<typeof trailSinkSpecSchema>;

const invalid = (message: string) => new MandateError('ERR_TRAIL_SINK_INVALID', message);

/** `host:port` with a port in range; the host as given (a name or an address). */
export function parseAddress(text: string): { host: string; port: number } {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(text);
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65_535) throw invalid('address must be host:port');
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

const ALLOWED: Record<TrailSinkKind, ReadonlyArray<keyof TrailSinkSettings>> = {
  'syslog-tcp': ['address', 'hostname'],
  'syslog-tls': ['address', 'hostname', 'ca', 'server_name', 'client_cert'],
  'http-webhook': ['url', 'ca'],
  'splunk-hec': ['url', 'ca', 'index', 'sourcetype'],
  'nats-jetstream': ['servers', 'subject', 'stream'],
  'otlp-logs': ['url', 'ca'],
};

/** The rules of each kind: what it needs, what it may not take, and the secret it needs. */
export function checkTrailSinkSpec(spec: TrailSinkSpec): void {
  const { kind, settings } = spec;
  const extra = Object.keys(settings).filter((k) => !ALLOWED[kind].includes(k as keyof TrailSinkSettings));
  if (extra.length > 0) throw invalid(`a ${kind} sink takes no ${extra.join(', ')}`);
  switch (kind) {
    case 'syslog-tcp':
    case 'syslog-tls':
      if (!settings.address) throw invalid(`a ${kind} sink needs settings.address (host:port)`);
      parseAddress(settings.address);
      if (kind === 'syslog-tcp' && spec.secret !== undefined) throw invalid('a syslog-tcp sink has no secret');
      if ((settings.client_cert === undefined) !== (spec.secret === undefined)) throw invalid('mutual TLS needs both settings.client_cert and the client key as secret');
      return;
    case 'http-webhook':
    case 'splunk-hec':
    case 'otlp-logs':
      if (!settings.url) throw invalid(`a ${kind} sink needs settings.url`);
      try {
        checkSinkUrl(settings.url);
      } catch (error) {
        throw invalid((error as Error).message);
      }
      if (kind === 'http-webhook' && (spec.secret === undefined || spec.secret.length < 16)) throw invalid('an http-webhook sink needs a signing key of at least 16 characters as secret');
      if (kind === 'splunk-hec' && spec.secret === undefined) throw invalid('a splunk-hec sink needs the HEC token as secret');
      return;
    case 'nats-jetstream':
      if (!settings.servers || !settings.subject) throw invalid('a nats-jetstream sink needs settings.servers and settings.subject');
      return;
  }
}
