import { parseAddress, type TrailSinkKind, type TrailSinkSettings } from '../spec.ts';
import type { TrailTransport } from '../transport.ts';
import { HttpTransport } from './http.ts';
import { SyslogTransport } from './syslog.ts';

export interface TransportInput {
  kind: TrailSinkKind;
  format: string;
  settings: TrailSinkSettings;
  secret: string | undefined;
  timeoutMs: number;
  now: () => Date;
}

/** The transport of a sink's kind; NATS's client loads only when a NATS sink exists. */
export async function openTransport(input: TransportInput): Promise<TrailTransport> {
  const { kind, settings: s, secret, timeoutMs } = input;
  switch (kind) {
    case 'syslog-tcp':
    case 'syslog-tls': {
      const { host, port } = parseAddress(s.address!);
      const tls = kind === 'syslog-tls' ? { ca: s.ca, servername: s.server_name, cert: s.client_cert, key: secret } : undefined;
      return new SyslogTransport({ host, port, hostname: s.hostname, timeoutMs, ...(tls ? { tls } : {}) });
    }
    case 'http-webhook':
    case 'splunk-hec':
    case 'otlp-logs':
      return new HttpTransport({ kind, url: s.url!, ca: s.ca, secret, index: s.index, sourcetype: s.sourcetype, format: input.format, timeoutMs, now: input.now });
    case 'nats-jetstream': {
      const { NatsTransport } = await import('./nats.ts');
      return new NatsTransport({ servers: s.servers!, subject: s.subject!, stream: s.stream, token: secret, timeoutMs });
    }
  }
}
