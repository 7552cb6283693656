import type { Command } from 'commander';
import { apiClient } from '../client.ts';
import { keyValues, print, table } from '../output.ts';

interface GlobalOpts {
  addr?: string;
  token?: string;
  json?: boolean;
}

interface Approval {
  id: string;
  status: string;
  agent: string;
  instance: string;
  person: string | null;
  resource: string;
  args_digest: string;
  why: { reasons: string[]; anomalies: string[] };
  risk: number;
  requested_at: string;
  expires_at: string;
  decided_by: string | null;
}

const summary = (a: Approval) => ({ ...a, for: a.person ?? '-', why: [...a.why.reasons, ...a.why.anomalies].join('; ') });

/** `mandate approvals …`: calls held for a person's decision. */
export function approvalsCommand(program: Command) {
  const approvals = program.command('approvals').description('calls held for human approval');
  const globals = () => program.opts<GlobalOpts>();
  const client = () => apiClient(globals());

  approvals
    .command('list')
    .description('list approvals (pending by default)')
    .option('--status <status>', 'pending, granted, denied, consumed, expired or all', 'pending')
    .option('--agent <id>', 'only this agent')
    .action(async (opts: { status: string; agent?: string }) => {
      const query = new URLSearchParams({ status: opts.status, ...(opts.agent ? { agent: opts.agent } : {}) });
      const { approvals: rows } = await client().request<{ approvals: Approval[] }>('GET', `/v1/approvals?${query}`);
      print(rows, !!globals().json, () => table(rows.map(summary), ['id', 'status', 'agent', 'for', 'resource', 'risk', 'expires_at', 'why']));
    });

  approvals
    .command('show <id>')
    .description('show one approval: who, for whom, what, which arguments digest, why')
    .action(async (id: string) => {
      const a = await client().request<Approval>('GET', `/v1/approvals/${encodeURIComponent(id)}`);
      print(a, !!globals().json, () =>
        keyValues({
          id: a.id,
          status: a.status,
          agent: a.agent,
          instance: a.instance,
          for: a.person ?? '-',
          resource: a.resource,
          arguments: a.args_digest || '-',
          why: [...a.why.reasons, ...a.why.anomalies],
          risk: a.risk,
          requested: a.requested_at,
          expires: a.expires_at,
          'decided by': a.decided_by ?? '-',
        }),
      );
    });

  for (const [verb, past] of [['approve', 'approved'], ['deny', 'denied']] as const) {
    approvals
      .command(`${verb} <id>`)
      .description(verb === 'approve' ? 'let the agent retry this exact call once' : 'refuse the held call')
      .option('--note <text>', 'why, for the audit trail')
      .action(async (id: string, opts: { note?: string }) => {
        const a = await client().request<Approval>('POST', `/v1/approvals/${encodeURIComponent(id)}/${verb}`, opts.note ? { note: opts.note } : {});
        print(a, !!globals().json, () => `${past} ${a.id}: ${a.agent} → ${a.resource}${verb === 'approve' ? ` (valid until ${a.expires_at})` : ''}`);
      });
  }
}
