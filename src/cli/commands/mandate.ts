import type { Command } from 'commander';
import type { AgentUsage, MandatePage, MandateView } from '../../lifecycle/inventory.ts';
import { apiClient } from '../client.ts';
import { print, table } from '../output.ts';

interface GlobalOpts {
  addr?: string;
  token?: string;
  json?: boolean;
}

/** Rows in delegation order: each mandate followed by its children (in this page), indented. */
export function treeRows(mandates: readonly MandateView[], now: Date): Array<Record<string, unknown>> {
  const byJti = new Map(mandates.map((m) => [m.jti, m]));
  const rows: Array<Record<string, unknown>> = [];
  const visit = (m: MandateView, depth: number) => {
    rows.push({
      jti: `${depth > 0 ? `${'  '.repeat(depth - 1)}└ ` : ''}${m.jti}`,
      agent: m.agent,
      instance: m.instance,
      person: m.person,
      state: m.state,
      scope: m.scope.join(' '),
      budget_left: `${m.budget.left}/${m.budget.limit}`,
      expires: m.state === 'live' ? `in ${untilText(new Date(m.expires_at).getTime() - now.getTime())}` : m.expires_at,
    });
    for (const child of m.children) {
      const found = byJti.get(child);
      if (found) visit(found, depth + 1);
    }
  };
  for (const m of mandates) if (m.parent_jti === null || !byJti.has(m.parent_jti)) visit(m, 0);
  return rows;
}

function untilText(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
}

const COLUMNS = ['jti', 'agent', 'instance', 'person', 'state', 'scope', 'budget_left', 'expires'];

/** `mandate mandate list`: the inventory of mandates; `mandate agent usage <id>`: granted vs used. */
export function mandateCommand(program: Command) {
  const globals = () => program.opts<GlobalOpts>();
  const mandate = program.command('mandate').description('the inventory of issued mandates');
  mandate
    .command('list')
    .description('list mandates, newest first, children under their parent')
    .option('--agent <id>', 'only mandates of this agent')
    .option('--instance <id>', 'only mandates of this instance')
    .option('--person <subject>', 'only mandates acting for this person')
    .option('--state <state>', 'live, ended or all', 'live')
    .option('--limit <n>', 'at most this many (1 to 500)', '100')
    .option('--cursor <cursor>', 'continue after the previous page')
    .action(async (opts: { agent?: string; instance?: string; person?: string; state: string; limit: string; cursor?: string }) => {
      const query = new URLSearchParams({ state: opts.state, limit: opts.limit });
      for (const key of ['agent', 'instance', 'person', 'cursor'] as const) if (opts[key]) query.set(key, opts[key]);
      const page = await apiClient(globals()).request<MandatePage>('GET', `/v1/mandates?${query}`);
      print(page, !!globals().json, () =>
        [table(treeRows(page.mandates, new Date()), COLUMNS), ...(page.next_cursor ? ['', `more: --cursor ${page.next_cursor}`] : [])].join('\n'),
      );
    });
}

export function agentUsageCommand(agent: Command, program: Command) {
  agent
    .command('usage <id>')
    .description('toolset items granted vs used (from the trail), and instances with their last activity')
    .option('--window <duration>', 'how far back, e.g. 7d, 30d', '30d')
    .action(async (id: string, opts: { window: string }) => {
      const globals = program.opts<GlobalOpts>();
      const usage = await apiClient(globals).request<AgentUsage>('GET', `/v1/agents/${encodeURIComponent(id)}/usage?${new URLSearchParams({ window: opts.window })}`);
      print(usage, !!globals.json, () =>
        [
          `Agent ${usage.agent}: last activity ${usage.last_activity ?? 'never'}; window since ${usage.since}`,
          '',
          table(usage.granted.map((g) => ({ ...g, status: g.calls > 0 ? 'used' : 'UNUSED' })), ['item', 'status', 'calls', 'last_used']),
          '',
          table(usage.instances as unknown as Array<Record<string, unknown>>, ['id', 'status', 'created_at', 'last_activity']),
        ].join('\n'),
      );
    });
}
