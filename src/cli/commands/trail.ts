import fs from 'node:fs';
import type { Command } from 'commander';
import { apiClient, CliError } from '../client.ts';
import { keyValues, print, table } from '../output.ts';

interface GlobalOpts {
  addr?: string;
  token?: string;
  json?: boolean;
}

interface TrailSink {
  name: string;
  kind: string;
  format: string;
  target: string;
  settings: Record<string, unknown>;
  events: string[];
  environments: string[];
  secret: 'sealed' | 'none';
  status: string;
  delivered: number;
  delivered_through: number;
  last_delivered_at: string | null;
  lag: { events: number; seconds: number; oldest: string | null };
  failures: number;
  errors: number;
  last_error: string | null;
  last_error_at: string | null;
  created_at: string;
}

interface AddOpts {
  kind: string;
  format: string;
  events?: string;
  environments?: string;
  from: string;
  address?: string;
  url?: string;
  servers?: string;
  subject?: string;
  stream?: string;
  caFile?: string;
  serverName?: string;
  clientCertFile?: string;
  index?: string;
  sourcetype?: string;
  hostname?: string;
  secretFromStdin?: boolean;
  secretFile?: string;
}

const list = (text: string | undefined) => (text ?? '').split(',').map((e) => e.trim()).filter(Boolean);
const all = (items: string[]) => (items.length > 0 ? items.join(',') : 'all');
const lagOf = (s: TrailSink) => `${s.lag.events} event(s)${s.lag.events > 0 ? `, ${s.lag.seconds}s behind` : ''}`;

function readFile(file: string | 0, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read the ${what}${file === 0 ? '' : ` ${file}`}: ${(error as NodeJS.ErrnoException).code ?? 'read failed'}`, 2);
  }
}

/** The sink's secret from stdin or a file, never argv (which `ps` and shell history show). */
function secretOf(opts: AddOpts): string | undefined {
  if (opts.secretFromStdin && opts.secretFile) throw new CliError('give --secret-from-stdin or --secret-file, not both', 2);
  let value: string | undefined;
  if (opts.secretFile) value = readFile(opts.secretFile, 'secret file');
  if (opts.secretFromStdin) {
    if (process.stdin.isTTY) process.stderr.write('Enter the secret, then Ctrl-D:\n');
    value = readFile(0, 'standard input');
  }
  if (value === undefined) return undefined;
  value = opts.secretFile?.match(/\.(pem|key)$/) ? value : value.replace(/\r?\n$/, '');
  if (value.length === 0) throw new CliError('the secret is empty', 2);
  return value;
}

function settingsOf(opts: AddOpts): Record<string, unknown> {
  const settings: Record<string, unknown> = {
    address: opts.address,
    url: opts.url,
    servers: opts.servers === undefined ? undefined : list(opts.servers),
    subject: opts.subject,
    stream: opts.stream,
    ca: opts.caFile === undefined ? undefined : readFile(opts.caFile, 'CA file'),
    server_name: opts.serverName,
    client_cert: opts.clientCertFile === undefined ? undefined : readFile(opts.clientCertFile, 'client certificate'),
    index: opts.index,
    sourcetype: opts.sourcetype,
    hostname: opts.hostname,
  };
  return Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined));
}

/** `mandate trail sink …`: the trail streamed to a SIEM or a log pipeline. */
export function trailCommand(program: Command) {
  const trail = program.command('trail').description('stream the trail to SIEMs and log pipelines');
  const sink = trail.command('sink').description('trail sinks: syslog (TCP, TLS), signed webhook, Splunk HEC, NATS JetStream, OTLP logs');
  const globals = () => program.opts<GlobalOpts>();
  const client = () => apiClient(globals());
  const path = (name: string, verb = '') => `/v1/trail/sinks/${encodeURIComponent(name)}${verb}`;

  sink
    .command('add <name>')
    .description('add a trail sink; streaming starts with events after now (--from start: the whole trail first)')
    .requiredOption('--kind <kind>', 'syslog-tcp, syslog-tls, http-webhook, splunk-hec, nats-jetstream or otlp-logs')
    .option('--format <format>', 'jsonl (canonical JSON), ocsf or cef', 'jsonl')
    .option('--events <types>', 'comma-separated audit event types (default: all)')
    .option('--environments <envs>', "comma-separated environments of the acting agent (default: all)")
    .option('--from <where>', 'now or start', 'now')
    .option('--address <host:port>', 'syslog receiver')
    .option('--url <url>', 'webhook URL, or the Splunk HEC / OTLP base URL')
    .option('--servers <urls>', 'NATS servers, comma-separated nats://host:port')
    .option('--subject <subject>', 'NATS subject prefix: events go to <subject>.<event type>')
    .option('--stream <name>', 'JetStream stream to create for <subject>.> when missing')
    .option('--ca-file <file>', 'PEM CA certificates that verify the receiver (TLS)')
    .option('--server-name <name>', "the name the receiver's certificate must carry")
    .option('--client-cert-file <file>', 'PEM client certificate (mutual TLS; its key is the secret)')
    .option('--index <index>', 'Splunk index')
    .option('--sourcetype <sourcetype>', 'Splunk sourcetype (default mandate:<format>)')
    .option('--hostname <name>', 'syslog HOSTNAME field (default: this machine)')
    .option('--secret-from-stdin', 'read the secret (webhook key, HEC token, TLS client key, NATS/OTLP token) from stdin')
    .option('--secret-file <file>', 'read the secret from a file (e.g. the TLS client key)')
    .action(async (name: string, opts: AddOpts) => {
      const secret = secretOf(opts);
      const body = {
        name,
        kind: opts.kind,
        format: opts.format,
        events: list(opts.events),
        environments: list(opts.environments),
        from: opts.from,
        settings: settingsOf(opts),
        ...(secret === undefined ? {} : { secret }),
      };
      const s = await client().request<TrailSink>('POST', '/v1/trail/sinks', body);
      print(s, !!globals().json, () => `trail sink ${s.name} added: ${s.kind} ${s.format} to ${s.target} for ${all(s.events)} events${s.secret === 'sealed' ? ' (secret sealed)' : ''}`);
    });

  sink
    .command('list')
    .description('list trail sinks with their lag and last error')
    .action(async () => {
      const { sinks } = await client().request<{ sinks: TrailSink[] }>('GET', '/v1/trail/sinks');
      const rows = sinks.map((s) => ({ ...s, events: all(s.events), lag: lagOf(s), last_error: s.last_error ?? '-' }));
      print(sinks, !!globals().json, () => table(rows, ['name', 'status', 'kind', 'format', 'target', 'events', 'delivered', 'lag', 'failures', 'last_error']));
    });

  sink
    .command('show <name>')
    .description('show one trail sink and its delivery state')
    .action(async (name: string) => {
      const s = await client().request<TrailSink>('GET', path(name));
      print(s, !!globals().json, () =>
        keyValues({
          name: s.name,
          status: s.status,
          kind: s.kind,
          format: s.format,
          target: s.target,
          ...Object.fromEntries(Object.entries(s.settings).map(([k, v]) => [k.replace(/_/g, ' '), Array.isArray(v) ? v.join(',') : v])),
          events: all(s.events),
          environments: all(s.environments),
          secret: s.secret,
          delivered: s.delivered,
          'last delivered': s.last_delivered_at ?? '-',
          lag: `${lagOf(s)}${s.lag.oldest ? `, oldest ${s.lag.oldest}` : ''}`,
          failures: `${s.failures} since the last success, ${s.errors} in all`,
          'last error': s.last_error ? `${s.last_error} at ${s.last_error_at}` : '-',
          created: s.created_at,
        }),
      );
    });

  sink
    .command('remove <name>')
    .description('remove a trail sink (its cursor goes with it)')
    .action(async (name: string) => {
      await client().request('DELETE', path(name));
      print({ removed: name }, !!globals().json, () => `removed trail sink ${name}`);
    });

  for (const [verb, past] of [['pause', 'paused: events wait in the trail'], ['resume', 'resumed from where it stopped']] as const) {
    sink
      .command(`${verb} <name>`)
      .description(verb === 'pause' ? 'stop streaming (nothing is lost)' : 'stream again, starting with what waited')
      .action(async (name: string) => {
        const s = await client().request<TrailSink>('POST', path(name, `/${verb}`), {});
        print(s, !!globals().json, () => `trail sink ${s.name} ${past}`);
      });
  }
}
