import fs from 'node:fs';
import type { Command } from 'commander';
import { apiClient, CliError } from '../client.ts';
import { keyValues, print, table } from '../output.ts';

interface GlobalOpts {
  addr?: string;
  token?: string;
  json?: boolean;
}

interface Item {
  agent: string;
  owner: string | null;
  status: string;
  granted: { toolset: string[]; roles: string[]; may_delegate_to: string[] };
  unused: { toolset: string[]; may_delegate_to: string[]; observed_since: string };
  removed: { toolset: string[]; roles: string[]; may_delegate_to: string[] } | null;
  decided_by: string | null;
}

interface Campaign {
  id: string;
  environment: string | null;
  status: string;
  action: string;
  unused_days: number;
  due_at: string;
  created_by: string | null;
  closed_at: string | null;
  counts: Record<string, number>;
  items?: Item[];
}

const list = (v: string | undefined) => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const countsOf = (c: Campaign) => Object.entries(c.counts).filter(([k]) => k !== 'items').map(([k, v]) => `${k} ${v}`).join(', ') || '-';

/** `mandate review …`: access review campaigns, owners' decisions and the signed outcome. */
export function reviewCommand(program: Command) {
  const review = program.command('review').description('access reviews: owners certify or trim their agents; signed outcome');
  const globals = () => program.opts<GlobalOpts>();
  const client = () => apiClient(globals());

  review
    .command('start')
    .description('start a campaign: one item per agent in scope, assigned to its owner (told through the sinks)')
    .option('--environment <env>', 'only agents of this environment (dev, staging, prod)')
    .option('--due <duration>', 'how long owners have (14d, 36h)', '14d')
    .option('--action <action>', 'what an undecided item gets at the due date: suspend or trim (its unused items)', 'suspend')
    .option('--unused-days <n>', 'suggest removing toolset items unused for this many days', '30')
    .action(async (opts: { environment?: string; due: string; action: string; unusedDays: string }) => {
      const days = Number(opts.unusedDays);
      if (!Number.isInteger(days)) throw new CliError('--unused-days must be a whole number of days', 2);
      const c = await client().request<Campaign>('POST', '/v1/reviews', { ...(opts.environment ? { environment: opts.environment } : {}), due: opts.due, action: opts.action, unused_days: days });
      print(c, !!globals().json, () => `campaign ${c.id} started: ${c.counts.items} agent(s)${c.environment ? ` in ${c.environment}` : ''}, due ${c.due_at}, undecided → ${c.action}\n${itemsTable(c.items ?? [])}`);
    });

  review
    .command('list')
    .description('list campaigns')
    .option('--status <status>', 'open or closed')
    .action(async (opts: { status?: string }) => {
      const { campaigns } = await client().request<{ campaigns: Campaign[] }>('GET', `/v1/reviews${opts.status ? `?status=${encodeURIComponent(opts.status)}` : ''}`);
      print(campaigns, !!globals().json, () =>
        table(campaigns.map((c) => ({ ...c, environment: c.environment ?? 'all', items: c.counts.items, decided: countsOf(c) })), ['id', 'status', 'environment', 'items', 'decided', 'action', 'due_at']),
      );
    });

  review
    .command('show <id>')
    .description('a campaign and its items, with least-privilege suggestions (toolset items unused)')
    .action(async (id: string) => {
      const c = await client().request<Campaign>('GET', `/v1/reviews/${encodeURIComponent(id)}`);
      print(c, !!globals().json, () => `${keyValues({ campaign: c.id, status: c.status, environment: c.environment ?? 'all', due: c.due_at, action: c.action, unused_days: c.unused_days, counts: countsOf(c), started_by: c.created_by, closed_at: c.closed_at })}\n\n${itemsTable(c.items ?? [])}`);
    });

  review
    .command('certify <id> <agent>')
    .description("certify the agent's rights as they are (its owner, or security)")
    .option('--note <text>', 'why')
    .action(async (id: string, agent: string, opts: { note?: string }) => {
      const item = await client().request<Item>('POST', `/v1/reviews/${encodeURIComponent(id)}/items/${encodeURIComponent(agent)}/certify`, opts.note ? { note: opts.note } : {});
      print(item, !!globals().json, () => `agent ${item.agent} certified in ${id}`);
    });

  review
    .command('trim <id> <agent>')
    .description('remove rights from the agent card at once (its owner, or security)')
    .option('--tools <items>', 'toolset items to remove, comma-separated')
    .option('--unused', 'remove every toolset item and delegation right the campaign found unused')
    .option('--roles <roles>', 'roles to remove, comma-separated')
    .option('--delegation <agents>', 'delegation rights (may_delegate_to) to remove, comma-separated')
    .option('--note <text>', 'why')
    .action(async (id: string, agent: string, opts: { tools?: string; unused?: boolean; roles?: string; delegation?: string; note?: string }) => {
      let toolset = list(opts.tools);
      let delegation = list(opts.delegation);
      if (opts.unused) {
        const c = await client().request<Campaign>('GET', `/v1/reviews/${encodeURIComponent(id)}`);
        const unused = c.items?.find((i) => i.agent === agent)?.unused;
        toolset = [...new Set([...toolset, ...(unused?.toolset ?? [])])];
        delegation = [...new Set([...delegation, ...(unused?.may_delegate_to ?? [])])];
      }
      const body = { toolset, roles: list(opts.roles), may_delegate_to: delegation, ...(opts.note ? { note: opts.note } : {}) };
      const item = await client().request<Item>('POST', `/v1/reviews/${encodeURIComponent(id)}/items/${encodeURIComponent(agent)}/trim`, body);
      const removed = item.removed!;
      print(item, !!globals().json, () => `agent ${item.agent} trimmed in ${id}: removed ${[...removed.toolset, ...removed.roles.map((r) => `role ${r}`), ...removed.may_delegate_to.map((d) => `delegation to ${d}`)].join(', ')}`);
    });

  review
    .command('remind <id>')
    .description('remind the owners of pending items now')
    .action(async (id: string) => {
      const r = await client().request<{ reminded: number }>('POST', `/v1/reviews/${encodeURIComponent(id)}/remind`, {});
      print(r, !!globals().json, () => `${r.reminded} owner reminder(s) sent for ${id}`);
    });

  review
    .command('close <id>')
    .description('close a campaign now: undecided items get its action, the outcome is signed')
    .action(async (id: string) => {
      const c = await client().request<Campaign>('POST', `/v1/reviews/${encodeURIComponent(id)}/close`, {});
      print(c, !!globals().json, () => `campaign ${c.id} closed: ${countsOf(c)}; signed report: mandate review report ${c.id} --out review-${c.id}.json`);
    });

  review
    .command('report <id>')
    .description("the closed campaign's signed report (JSON)")
    .option('--out <file>', 'write it to this file instead of stdout')
    .action(async (id: string, opts: { out?: string }) => {
      const report = await client().request<unknown>('GET', `/v1/reviews/${encodeURIComponent(id)}/report`);
      const text = `${JSON.stringify(report, null, 2)}\n`;
      if (!opts.out) return void process.stdout.write(text);
      fs.writeFileSync(opts.out, text, { mode: 0o644 });
      process.stdout.write(`signed report of ${id} written to ${opts.out}; check it with: mandate review verify ${opts.out}\n`);
    });

  review
    .command('verify <file>')
    .description("check a report's Ed25519 signature offline; --vkey pins the key (GET /v1/audit/checkpoints)")
    .option('--vkey <vkey>', 'the audit verifier key the report must be signed with')
    .action(async (file: string, opts: { vkey?: string }) => {
      const { verifyReviewReport } = await import('../../lifecycle/review-report.ts');
      let doc: unknown;
      try {
        doc = JSON.parse(fs.readFileSync(file, 'utf8'));
      } catch (error) {
        throw new CliError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, 1);
      }
      const ok = verifyReviewReport(doc, opts.vkey);
      print(ok, !!globals().json, () =>
        `report of ${ok.campaign}: signature valid, signed by ${ok.signer}${ok.pinned ? ' (the pinned key)' : ' (pin it with --vkey <the server\'s audit verifier key>)'}; ${Object.entries(ok.summary).map(([k, v]) => `${k} ${v}`).join(', ')}`,
      );
    });
}

function itemsTable(items: Item[]): string {
  return table(
    items.map((i) => ({ ...i, observed_since: i.unused.observed_since.slice(0, 10), toolset: i.granted.toolset.length, unused: [...i.unused.toolset, ...i.unused.may_delegate_to.map((d) => `delegate:${d}`)], removed: i.removed ? [...i.removed.toolset, ...i.removed.roles, ...i.removed.may_delegate_to] : [] })),
    ['agent', 'owner', 'status', 'toolset', 'unused', 'observed_since', 'removed', 'decided_by'],
  );
}
