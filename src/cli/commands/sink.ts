import fs from 'node:fs';
import type { Command } from 'commander';
import { apiClient, CliError } from '../client.ts';
import { keyValues, print, table } from '../output.ts';

interface GlobalOpts {
  addr?: string;
  token?: string;
  json?: boolean;
}

interface Sink {
  name: string;
  url: string;
  format: string;
  events: string[];
  key: 'sealed' | { secret: string };
  status: string;
  delivered: number;
  delivered_through: number;
  last_delivered_at: string | null;
  lag: { events: number; oldest: string | null };
  failures: number;
  last_error: string | null;
  last_error_at: string | null;
  created_at: string;
}

const row = (s: Sink) => ({ ...s, lag: s.lag.events, events: s.events.join(','), last_error: s.last_error ?? '-' });
const keyOf = (s: Sink) => (s.key === 'sealed' ? 'sealed' : `secret ${s.key.secret}`);

/** The signing key from stdin, never argv (which `ps` and shell history show). */
function keyFromStdin(): string {
  if (process.stdin.isTTY) process.stderr.write('Enter the signing key, then Ctrl-D:\n');
  let value: string;
  try {
    value = fs.readFileSync(0, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    throw new CliError(`cannot read stdin: ${(error as NodeJS.ErrnoException).code ?? 'read failed'}`);
  }
  if (value.length === 0) throw new CliError('the signing key is empty', 2);
  return value;
}

/** `mandate sink …`: signed webhooks that notify people (held calls first). */
export function sinkCommand(program: Command) {
  const sink = program.command('sink').description('notification sinks: signed webhooks for held calls and other trail events');
  const globals = () => program.opts<GlobalOpts>();
  const client = () => apiClient(globals());

  sink
    .command('add <name>')
    .description('add a webhook sink; delivery starts with events after now')
    .requiredOption('--url <url>', 'https URL (plain http only to a loopback address)')
    .option('--secret-from-stdin', 'read the HMAC signing key from stdin (stored sealed, never shown again)')
    .option('--secret <name>', 'sign with the value of this stored secret (mandate secret set)')
    .option('--format <format>', 'json (event + decide links) or slack (Slack/Teams incoming-webhook text)', 'json')
    .option('--events <types>', 'comma-separated audit event types', 'approval.requested')
    .action(async (name: string, opts: { url: string; secretFromStdin?: boolean; secret?: string; format: string; events: string }) => {
      if (!!opts.secretFromStdin === (opts.secret !== undefined)) throw new CliError('give exactly one of --secret-from-stdin or --secret <stored secret name>', 2);
      const body = {
        name,
        url: opts.url,
        format: opts.format,
        events: opts.events.split(',').map((e) => e.trim()).filter(Boolean),
        ...(opts.secret !== undefined ? { key_secret: opts.secret } : { key: keyFromStdin() }),
      };
      const s = await client().request<Sink>('POST', '/v1/sinks', body);
      print(s, !!globals().json, () => `sink ${s.name} added: ${s.format} to ${s.url} for ${s.events.join(', ')} (key ${keyOf(s)})`);
    });

  sink
    .command('list')
    .description('list sinks with their lag (events waiting) and last error')
    .action(async () => {
      const { sinks } = await client().request<{ sinks: Sink[] }>('GET', '/v1/sinks');
      print(sinks, !!globals().json, () => table(sinks.map(row), ['name', 'status', 'format', 'url', 'events', 'delivered', 'lag', 'failures', 'last_error']));
    });

  sink
    .command('show <name>')
    .description('show one sink and its delivery state')
    .action(async (name: string) => {
      const s = await client().request<Sink>('GET', `/v1/sinks/${encodeURIComponent(name)}`);
      print(s, !!globals().json, () =>
        keyValues({
          name: s.name,
          status: s.status,
          url: s.url,
          format: s.format,
          events: s.events,
          key: keyOf(s),
          delivered: s.delivered,
          'last delivered': s.last_delivered_at ?? '-',
          lag: `${s.lag.events} event(s)${s.lag.oldest ? `, oldest ${s.lag.oldest}` : ''}`,
          failures: s.failures,
          'last error': s.last_error ? `${s.last_error} at ${s.last_error_at}` : '-',
          created: s.created_at,
        }),
      );
    });

  sink
    .command('remove <name>')
    .description('remove a sink (its cursor goes with it)')
    .action(async (name: string) => {
      await client().request('DELETE', `/v1/sinks/${encodeURIComponent(name)}`);
      print({ removed: name }, !!globals().json, () => `removed sink ${name}`);
    });

  for (const [verb, past] of [['pause', 'paused: events wait in the trail'], ['resume', 'resumed from where it stopped']] as const) {
    sink
      .command(`${verb} <name>`)
      .description(verb === 'pause' ? 'stop delivering (nothing is lost)' : 'deliver again, starting with what waited')
      .action(async (name: string) => {
        const s = await client().request<Sink>('POST', `/v1/sinks/${encodeURIComponent(name)}/${verb}`, {});
        print(s, !!globals().json, () => `sink ${s.name} ${past}`);
      });
  }
}
