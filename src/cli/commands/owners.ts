import type { Command } from 'commander';
import type { Handover } from '../../lifecycle/owners.ts';
import type { ReapReport } from '../../lifecycle/reaper.ts';
import { apiClient } from '../client.ts';
import { print, table } from '../output.ts';

interface GlobalOpts {
  addr?: string;
  token?: string;
  json?: boolean;
}

/**
 * `mandate person list|offboard`, `mandate scim token`: owners and their lifecycle;
 * `mandate lifecycle reap|flags`: clean-up and the flags it leaves.
 */
export function ownersCommands(program: Command) {
  const globals = () => program.opts<GlobalOpts>();
  const client = () => apiClient(globals());

  const person = program.command('person').description('persons provisioned over SCIM, and offboarding');
  person
    .command('list')
    .description('persons the identity provider provisioned, active or gone')
    .action(async () => {
      const { persons } = await client().request<{ persons: Array<Record<string, unknown>> }>('GET', '/v1/persons');
      print(persons, !!globals().json, () => table(persons.map((p) => ({ ...p, active: p.active ? 'yes' : 'no' })), ['user_name', 'email', 'display_name', 'active', 'manager', 'left_at', 'id']));
    });
  person
    .command('offboard <person>')
    .description('a person or operator left: flag their agents orphaned, hand them over (manager, sponsor or --to), else suspend after the grace period')
    .option('--to <person>', 'hand the agents to this person (email or userName)')
    .action(async (who: string, opts: { to?: string }) => {
      const result = await client().request<{ person: string; agents: Handover[] }>('POST', `/v1/persons/${encodeURIComponent(who)}/offboard`, opts.to ? { reassign_to: opts.to } : {});
      print(result, !!globals().json, () =>
        [`${result.person} offboarded; ${result.agents.length} agent(s) they owned:`, '', table(result.agents as unknown as Array<Record<string, unknown>>, ['agent', 'outcome', 'owner', 'previous_owner', 'due_at'])].join('\n'),
      );
    });

  program
    .command('scim')
    .description('the SCIM 2.0 endpoint identity providers provision persons through')
    .command('token')
    .description('create the SCIM bearer token (shown once; replaces the previous one)')
    .action(async () => {
      const created = await client().request<{ token: string; url: string }>('POST', '/v1/scim/token', {});
      print(created, !!globals().json, () => [`SCIM base URL: ${created.url}`, `Bearer token (shown once, stored only as a digest):`, '', `  ${created.token}`].join('\n'));
    });

  const lifecycle = program.command('lifecycle').description('clean-up of idle instances, unused agents and expired tokens');
  lifecycle
    .command('reap')
    .description('clean up now, as the configured schedule would')
    .option('--dry-run', 'only report what would be done')
    .action(async (opts: { dryRun?: boolean }) => {
      const report = await client().request<ReapReport>('POST', '/v1/lifecycle/reap', { dry_run: opts.dryRun === true });
      print(report, !!globals().json, () => reapText(report));
    });
  lifecycle
    .command('flags')
    .description('agents flagged orphaned (owner left) or stale (unused)')
    .option('--flag <flag>', 'orphaned or stale')
    .action(async (opts: { flag?: string }) => {
      const { flags } = await client().request<{ flags: Array<Record<string, unknown>> }>('GET', `/v1/lifecycle/flags${opts.flag ? `?${new URLSearchParams({ flag: opts.flag })}` : ''}`);
      print(flags, !!globals().json, () => table(flags, ['agent_id', 'flag', 'since', 'due_at', 'reason']));
    });
}

function reapText(report: ReapReport): string {
  const rows = [
    ...report.instances_revoked.map((i) => ({ action: 'revoke instance', target: i.id, detail: `agent ${i.agent}, idle since ${i.last_activity}, ${i.mandates_ended} mandate(s)` })),
    ...report.agents_flagged.map((a) => ({ action: 'flag stale', target: a.id, detail: `unused since ${a.last_activity}` })),
    ...report.agents_suspended.map((id) => ({ action: 'suspend (stale)', target: id, detail: '' })),
    ...report.orphans_suspended.map((id) => ({ action: 'suspend (orphan)', target: id, detail: 'owner left, grace period over' })),
    ...report.join_tokens_purged.map((id) => ({ action: 'purge join token', target: id, detail: 'expired' })),
    ...report.operator_tokens_purged.map((id) => ({ action: 'purge API token', target: id, detail: 'expired' })),
  ];
  return [rows.length === 0 ? 'nothing to clean up' : table(rows, ['action', 'target', 'detail']), '', report.dry_run ? `dry run: nothing was changed (${report.at})` : `done at ${report.at}`].join('\n');
}
