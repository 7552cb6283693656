import type { Command } from 'commander';
import type { Finding as FindingRecord } from '../../lifecycle/findings.ts';
import { apiClient, CliError } from '../client.ts';
import { keyValues, print, table } from '../output.ts';

/** A finding as the API answers it (a mapped copy, so tables take it as a plain record). */
type Finding = { [K in keyof FindingRecord]: FindingRecord[K] };

interface GlobalOpts {
  addr?: string;
  token?: string;
  json?: boolean;
}


const detailText = (detail: Record<string, unknown>) => Object.entries(detail).map(([k, v]) => `${k}=${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`).join('; ');

/** `mandate findings …`: the one queue shadow-agent discovery reports into. */
export function findingsCommand(program: Command) {
  const findings = program.command('findings').description('the shadow-agent findings queue: list, show, claim (a draft agent card with an owner) or dismiss (with a reason)');
  const globals = () => program.opts<GlobalOpts>();
  const client = () => apiClient(globals());

  findings
    .command('list')
    .description('list findings, newest sighting first')
    .option('--status <status>', 'open, claimed or dismissed', 'open')
    .option('--scanner <scanner>', 'mcp-config, postgres-login or refused-client')
    .option('--all', 'every status')
    .action(async (opts: { status: string; scanner?: string; all?: boolean }) => {
      const query = new URLSearchParams({ ...(opts.all ? {} : { status: opts.status }), ...(opts.scanner ? { scanner: opts.scanner } : {}) });
      const { findings: rows } = await client().request<{ findings: Finding[] }>('GET', `/v1/findings${query.size ? `?${query}` : ''}`);
      print(rows, !!globals().json, () => table(rows, ['id', 'severity', 'status', 'scanner', 'kind', 'seen', 'last_seen', 'title']));
    });

  findings
    .command('show <id>')
    .description('one finding with what the scanner saw (a credential only as fingerprint and hint)')
    .action(async (id: string) => {
      const f = await client().request<Finding>('GET', `/v1/findings/${encodeURIComponent(id)}`);
      print(f, !!globals().json, () => keyValues({ id: f.id, status: f.status, severity: f.severity, scanner: f.scanner, kind: f.kind, title: f.title, source: f.source, detail: detailText(f.detail), first_seen: f.first_seen, last_seen: f.last_seen, seen: f.seen, agent: f.agent, owner: f.owner, reason: f.reason, decided_by: f.decided_by }));
    });

  findings
    .command('claim <id>')
    .description('bring the shadow agent into governance: a draft agent card (no instance until resumed) with an owner')
    .requiredOption('--agent <id>', 'the agent id to register (a slug)')
    .requiredOption('--owner <person>', 'the person who owns it')
    .option('--name <name>', 'display name')
    .option('--environment <env>', 'dev, staging or prod', 'dev')
    .action(async (id: string, opts: { agent: string; owner: string; name?: string; environment: string }) => {
      const body = { agent_id: opts.agent, owner: opts.owner, environment: opts.environment, ...(opts.name ? { name: opts.name } : {}) };
      const r = await client().request<{ finding: Finding }>('POST', `/v1/findings/${encodeURIComponent(id)}/claim`, body);
      print(r, !!globals().json, () => `finding ${id} claimed: draft agent ${opts.agent} owned by ${opts.owner}; review its card, then: mandate agent resume ${opts.agent}`);
    });

  findings
    .command('dismiss <id>')
    .description('dismiss a finding; the reason is kept and audited')
    .option('--reason <text>', 'why (required)')
    .action(async (id: string, opts: { reason?: string }) => {
      if (!opts.reason?.trim()) throw new CliError('dismissing needs a reason: --reason "…"', 2);
      const f = await client().request<Finding>('POST', `/v1/findings/${encodeURIComponent(id)}/dismiss`, { reason: opts.reason });
      print(f, !!globals().json, () => `finding ${f.id} dismissed: ${f.reason}`);
    });
}
