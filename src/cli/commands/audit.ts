import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { assertConsistent, verifyCheckpoint } from '../../audit/checkpoint.ts';
import { verifiersFrom } from '../../audit/checkpoint-key.ts';
import type { AuditEvent } from '../../audit/event.ts';
import { EXPORT_FORMATS, type ExportFormat, exportLine } from '../../audit/export/stream.ts';
import type { EventFilter, EventPage } from '../../audit/log-store.ts';
import type { NoteVerifier } from '../../audit/note.ts';
import type { VerifyBreak, VerifyReport } from '../../audit/verify-log.ts';
import { resolveTarget } from '../cli-config.ts';
import { apiClient, CliError } from '../client.ts';
import { print, table } from '../output.ts';

interface GlobalOpts {
  addr?: string;
  token?: string;
  json?: boolean;
}

interface FilterOpts {
  chain?: string;
  agent?: string;
  instance?: string;
  person?: string;
  resource?: string;
  action?: string;
  decision?: string;
  status?: string;
  type?: string;
  trace?: string;
  digest?: string;
  since?: string;
  until?: string;
}

interface OfflineOpts {
  dataDir?: string;
  databaseUrl?: string;
  offline?: boolean;
}

/** `mandate audit verify` exits with this when the trail is broken (1 is "could not run"). */
export const EXIT_BROKEN = 3;
const VERSION = '0.1.0';
const collect = (value: string, previous: string[] = []) => [...previous, value];

function filterOptions(command: Command): Command {
  return command
    .option('--chain <chain>', 'system or instance:<id>')
    .option('--agent <id>', 'agent id')
    .option('--instance <id>', 'instance id')
    .option('--person <subject>', 'the person the agent acted for')
    .option('--resource <resource>', 'tool or resource (a trailing * matches a prefix)')
    .option('--action <action>', 'action, e.g. tools/call')
    .option('--decision <decision>', 'allow or deny')
    .option('--status <status>', 'success, failure or pending')
    .option('--type <type>', 'event type, e.g. tool.decision or tool.*')
    .option('--trace <trace-id>', 'W3C trace id')
    .option('--digest <hmac>', 'args digest (see mandate audit digest)')
    .option('--since <time>', 'ISO time or a duration back from now (15m, 24h, 7d)')
    .option('--until <time>', 'ISO time or a duration back from now');
}

function offlineOptions(command: Command): Command {
  return command
    .option('--data-dir <dir>', 'read the SQLite database in this data directory directly, without a server')
    .option('--database-url <url>', 'read this PostgreSQL database directly, without a server')
    .option('--offline', 'read the database directly (MANDATE_DATA_DIR / MANDATE_DATABASE_URL)');
}

const filterEntries = (opts: FilterOpts): Array<[string, string]> =>
  (
    [
      ['chain', opts.chain],
      ['agent', opts.agent],
      ['instance', opts.instance],
      ['person', opts.person],
      ['resource', opts.resource],
      ['action', opts.action],
      ['decision', opts.decision],
      ['status', opts.status],
      ['type', opts.type],
      ['trace_id', opts.trace],
      ['args_digest', opts.digest],
      ['since', opts.since],
      ['until', opts.until],
    ] as Array<[string, string | undefined]>
  ).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '');

const isOffline = (opts: OfflineOpts) => Boolean(opts.dataDir || opts.databaseUrl || opts.offline);

async function openOffline(opts: OfflineOpts) {
  const { openAuditDatabase } = await import('../audit-offline.ts');
  const databaseUrl = opts.databaseUrl ?? (opts.dataDir ? undefined : process.env.MANDATE_DATABASE_URL);
  const dataDir = opts.dataDir ?? process.env.MANDATE_DATA_DIR ?? '.mandate';
  return { ...(await openAuditDatabase({ dataDir, databaseUrl })), dataDir };
}

export function auditCommand(program: Command) {
  const audit = program.command('audit').description('query, export and verify the tamper-evident audit trail');
  const globals = () => program.opts<GlobalOpts>();
  const client = () => apiClient(globals());

  filterOptions(audit.command('query'))
    .description('find events by agent, instance, person, tool, decision, type or time')
    .option('--limit <n>', 'events per page (max 1000)', '50')
    .option('--cursor <cursor>', 'continue after a previous page')
    .option('--desc', 'newest first')
    .action(async (opts: FilterOpts & { limit: string; cursor?: string; desc?: boolean }) => {
      const query = new URLSearchParams(filterEntries(opts));
      query.set('limit', opts.limit);
      if (opts.cursor) query.set('cursor', opts.cursor);
      if (opts.desc) query.set('order', 'desc');
      const page = await client().request<EventPage>('GET', `/v1/audit/events?${query}`);
      print(page, !!globals().json, () => {
        const rows = page.events.map(({ leaf_index, event }) => ({ leaf: leaf_index, ...summary(event) }));
        const more = page.next_cursor ? `\nmore: --cursor ${page.next_cursor}` : '';
        return `${table(rows, ['leaf', 'time', 'chain', 'seq', 'type', 'agent', 'person', 'resource', 'decision', 'status'])}${more}`;
      });
    });

  filterOptions(audit.command('tail'))
    .description('print the latest events; with -f keep printing new ones')
    .option('-n, --lines <n>', 'how many recent events to start with', '20')
    .option('-f, --follow', 'poll for new events until interrupted')
    .option('--interval <ms>', 'poll interval with -f', '1000')
    .action(async (opts: FilterOpts & { lines: string; follow?: boolean; interval: string }) => {
      const api = client();
      const json = !!globals().json;
      const base = filterEntries(opts);
      const show = (event: AuditEvent) => process.stdout.write(json ? `${JSON.stringify(event)}\n` : `${line(event)}\n`);
      const recent = new URLSearchParams([...base, ['limit', opts.lines], ['order', 'desc']]);
      const first = await api.request<EventPage>('GET', `/v1/audit/events?${recent}`);
      for (const item of [...first.events].reverse()) show(item.event);
      if (!opts.follow) return;
      let after = first.events[0]?.leaf_index;
      const interval = Math.max(100, Number(opts.interval) || 1000);
      let stop = false;
      process.once('SIGINT', () => {
        stop = true;
      });
      while (!stop) {
        const query = new URLSearchParams([...base, ['limit', '1000']]);
        if (after !== undefined) query.set('cursor', Buffer.from(`l${after}`).toString('base64url'));
        const page = await api.request<EventPage>('GET', `/v1/audit/events?${query}`);
        for (const item of page.events) {
          show(item.event);
          after = item.leaf_index;
        }
        if (!page.next_cursor) await sleep(interval);
      }
    });

  offlineOptions(
    audit
      .command('verify')
      .description('recompute every hash chain and the Merkle root against the signed checkpoints; exit 3 when broken')
      .option('--chain <chain>', 'verify one chain only')
      .option('--checkpoint <file>', 'a checkpoint saved earlier (repeatable): detects rollback, truncation and forks', collect)
      .option('--vkey <vkey>', 'trusted checkpoint verifier key (repeatable); default: the master key (offline) or the server-published key')
      .option('--deep', 'also schema-check every event and its query columns'),
  ).action(async (opts: OfflineOpts & { chain?: string; checkpoint?: string[]; vkey?: string; deep?: boolean }) => {
    const saved = (opts.checkpoint ?? []).map((file) => fs.readFileSync(file, 'utf8'));
    const vkeys = opts.vkey ? [opts.vkey] : [];
    let report: VerifyReport;
    if (isOffline(opts)) {
      const { verifyAuditLog } = await import('../../audit/verify-log.ts');
      const { trustedCheckpointKeys } = await import('../audit-offline.ts');
      const store = await openOffline(opts);
      try {
        const keys = await trustedCheckpointKeys(store.db, { vkeys, dataDir: store.dataDir });
        report = await verifyAuditLog(store.db, { chain: opts.chain, deep: opts.deep, trusted: keys.trusted, origin: keys.origin, saved });
        if (keys.source === 'none') report.warnings.unshift(`no trusted key for ${store.where}: give --vkey`);
      } finally {
        await store.close();
      }
    } else {
      report = await verifyViaServer(client(), { chain: opts.chain, deep: opts.deep ?? false, saved, vkeys });
    }
    print(report, !!globals().json, () => describe(report));
    if (!report.ok) throw new CliError('the audit trail is broken', EXIT_BROKEN);
  });

  audit
    .command('checkpoint')
    .description('print the latest signed checkpoint (save it to verify against later)')
    .option('--new', 'sign a checkpoint of the log as it is now')
    .option('-o, --out <file>', 'write the checkpoint note to a file')
    .action(async (opts: { new?: boolean; out?: string }) => {
      const api = client();
      const checkpoint = opts.new
        ? await api.request<{ size: number; root: string; note: string }>('POST', '/v1/audit/checkpoints')
        : (await api.request<{ checkpoints: Array<{ size: number; root: string; note: string }> }>('GET', '/v1/audit/checkpoints?limit=1')).checkpoints[0];
      if (!checkpoint) throw new CliError('no checkpoint has been signed yet; use --new');
      if (opts.out) fs.writeFileSync(opts.out, checkpoint.note, { mode: 0o644 });
      print(checkpoint, !!globals().json, () =>
        opts.out ? `checkpoint of size ${checkpoint.size} saved to ${opts.out}` : checkpoint.note.trimEnd(),
      );
    });

  offlineOptions(filterOptions(audit.command('export')))
    .description('stream events as JSON lines, OCSF or CEF')
    .option('--format <format>', `one of ${EXPORT_FORMATS.join(', ')}`, 'jsonl')
    .option('-o, --out <file>', 'write to a file instead of stdout')
    .action(async (opts: FilterOpts & OfflineOpts & { format: string; out?: string }) => {
      if (!(EXPORT_FORMATS as readonly string[]).includes(opts.format)) {
        throw new CliError(`--format must be one of ${EXPORT_FORMATS.join(', ')}`, 2);
      }
      const out: NodeJS.WritableStream = opts.out ? fs.createWriteStream(opts.out) : process.stdout;
      const write = async (text: string | Uint8Array) => {
        if (!out.write(text)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      };
      if (isOffline(opts)) {
        const { instantFrom, streamEvents } = await import('../../audit/log-store.ts');
        const store = await openOffline(opts);
        try {
          const now = new Date();
          const entries = Object.fromEntries(filterEntries(opts)) as Record<string, string>;
          const filter = { ...entries, since: instantFrom(entries.since, now, 'since'), until: instantFrom(entries.until, now, 'until') } as EventFilter;
          for await (const event of streamEvents(store.db, filter)) {
            await write(exportLine(opts.format as ExportFormat, event, VERSION));
          }
        } finally {
          await store.close();
        }
      } else {
        const query = new URLSearchParams([...filterEntries(opts), ['format', opts.format]]);
        const response = await authorizedFetch(globals(), `/v1/audit/export?${query}`);
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          await write(chunk);
        }
      }
      if (opts.out) await new Promise<void>((resolve) => out.end(() => resolve()));
    });

  audit
    .command('digest <value>')
    .description('the HMAC digest of a known argument object (JSON), to find the events that carried it')
    .option('--string', 'take the value as a plain string, not JSON')
    .action(async (value: string, opts: { string?: boolean }) => {
      let parsed: unknown = value;
      if (!opts.string) {
        try {
          parsed = JSON.parse(value);
        } catch {
          throw new CliError('value is not JSON; quote it as JSON or pass --string', 2);
        }
      }
      const result = await client().request<{ digest: string }>('POST', '/v1/audit/digest', { value: parsed });
      print(result, !!globals().json, () => `${result.digest}\nfind it: mandate audit query --digest ${result.digest}`);
    });
}

/**
 * Through the server: the server recomputes chains and tree; the CLI itself checks, as a
 * witness, that the server's latest checkpoint is consistent with every saved one.
 */
async function verifyViaServer(
  api: ReturnType<typeof apiClient>,
  options: { chain?: string | undefined; deep: boolean; saved: string[]; vkeys: string[] },
): Promise<VerifyReport> {
  const published = await api.request<{ origin: string; vkey: string; checkpoints: Array<{ size: number; note: string }> }>(
    'GET',
    '/v1/audit/checkpoints?limit=1',
  );
  const report = await api.request<VerifyReport>('POST', '/v1/audit/verify', {
    ...(options.chain ? { chain: options.chain } : {}),
    deep: options.deep,
    ...(options.saved.length > 0 ? { checkpoints: options.saved } : {}),
  });
  let trusted: NoteVerifier[];
  if (options.vkeys.length > 0) {
    trusted = verifiersFrom(options.vkeys);
    if (options.vkeys[0] !== published.vkey) report.warnings.push('the server publishes another verifier key than the one given');
  } else {
    trusted = verifiersFrom([published.vkey]);
    if (options.saved.length > 0) report.warnings.push(`trusting the server's published key ${published.vkey}; pin it with --vkey`);
  }
  const latestNote = published.checkpoints[0]?.note;
  const found: VerifyBreak[] = [];
  const logBreak = (kind: VerifyBreak['kind'], message: string) => found.push({ chain: null, seq: null, leaf_index: null, kind, message });
  for (const note of options.saved) {
    let saved;
    try {
      saved = verifyCheckpoint(note, trusted, { origin: published.origin });
    } catch (error) {
      logBreak('checkpoint_invalid', `saved checkpoint: ${(error as Error).message}`);
      continue;
    }
    if (!latestNote) {
      logBreak('rolled_back', `the server has no checkpoint, a saved one signed size ${saved.size}`);
      continue;
    }
    const latest = verifyCheckpoint(latestNote, trusted, { origin: published.origin });
    if (saved.size > latest.size) {
      logBreak('rolled_back', `the server's latest checkpoint has size ${latest.size}, a saved one signed ${saved.size}`);
      continue;
    }
    const { proof } = await api.request<{ proof: string[] }>('GET', `/v1/audit/proof/consistency?from=${saved.size}&to=${latest.size}`);
    try {
      assertConsistent(saved, latest, proof.map((p) => Buffer.from(p, 'base64')));
    } catch (error) {
      logBreak('fork', `checkpoint ${latest.size} does not extend the saved ${saved.size}: ${(error as Error).message}`);
    }
  }
  if (found.length === 0) return report;
  const breaks = [...report.breaks, ...found];
  return { ...report, ok: false, breaks, first: report.first ?? found[0] ?? null };
}

async function authorizedFetch(flags: GlobalOpts, route: string): Promise<Response> {
  const { addr, token } = resolveTarget(flags);
  let response: Response;
  try {
    response = await fetch(`${addr}${route}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  } catch (error) {
    throw new CliError(`cannot reach Mandate at ${addr} (${(error as Error).message})`);
  }
  if (!response.ok) {
    const p = (await response.json().catch(() => ({}))) as { detail?: string; code?: string };
    throw new CliError(`${p.detail ?? response.statusText} (${p.code ?? `HTTP ${response.status}`})`);
  }
  return response;
}

function summary(event: AuditEvent) {
  return {
    time: event.time,
    chain: event.chain,
    seq: event.seq,
    type: event.type,
    agent: event.actor.agent,
    person: event.actor.person,
    resource: event.resource,
    decision: event.decision,
    status: event.status,
  };
}

function line(event: AuditEvent): string {
  const who = [event.actor.agent, event.actor.person ? `for ${event.actor.person}` : null].filter(Boolean).join(' ');
  const what = [event.type, event.decision, event.action, event.resource].filter(Boolean).join(' ');
  const why = event.denial_reason ? ` (${event.denial_reason})` : '';
  return `${event.time} ${event.chain}#${event.seq} ${what}${why}${who ? ` — ${who}` : ''}`;
}

function describe(report: VerifyReport): string {
  const scope = report.scope === 'chain' ? `chain ${report.chain}` : 'audit log';
  const cp = report.checkpoints;
  const lines = [
    report.ok
      ? `${scope} verified: ${report.events} events in ${report.chains} chain(s), tree size ${report.size}${report.root ? `, root ${report.root}` : ''}`
      : `${scope} is BROKEN: ${report.breaks.length} finding(s)`,
    `checkpoints: ${cp.stored} stored (${cp.verified} signature-checked${cp.unverified ? `, ${cp.unverified} unchecked` : ''})${cp.latest ? `, latest size ${cp.latest.size}` : ''}${cp.uncovered ? ` (${cp.uncovered} newer events not yet checkpointed)` : ''}${cp.saved ? `, ${cp.saved} saved checked` : ''}`,
  ];
  if (report.first) lines.push(`first broken place: ${place(report.first)}`);
  for (const b of report.breaks.slice(0, 20)) lines.push(`  - ${place(b)}`);
  if (report.breaks.length > 20) lines.push(`  … ${report.breaks.length - 20} more (use --json)`);
  for (const w of report.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}

function place(b: VerifyBreak): string {
  const where = b.chain ? `chain ${b.chain} seq ${b.seq}` : 'log';
  const leaf = b.leaf_index !== null ? ` (leaf ${b.leaf_index})` : '';
  return `${where}${leaf}: ${b.kind} — ${b.message}`;
}
