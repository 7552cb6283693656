import type { Command } from 'commander';
import type { AgentCard } from '../../registry/agent-card.ts';
import { apiClient, CliError } from '../client.ts';
import { readAgentCards } from '../input.ts';
import { keyValues, print, table } from '../output.ts';

interface GlobalOpts {
  addr?: string;
  token?: string;
  json?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];
const columns = ['id', 'name', 'owner', 'environment', 'status', 'roles', 'flags'];

export function agentCommand(program: Command) {
  const agent = program.command('agent').description('manage agent cards');
  const globals = () => program.opts<GlobalOpts>();
  const client = () => apiClient(globals());

  agent
    .command('register')
    .description('register one agent card, from a YAML/JSON file or from flags')
    .option('-f, --file <file>', 'card file (YAML or JSON, - for stdin)')
    .option('--id <id>', 'agent id (slug)')
    .option('--name <name>', 'display name')
    .option('--owner <person>', 'owner (a person)')
    .option('--purpose <text>', 'what the agent is for')
    .option('--environment <env>', 'dev, staging or prod')
    .option('--model <model>', 'model the agent runs')
    .option('--tool <scope>', 'toolset entry (repeatable), e.g. tool:github/*', collect)
    .option('--role <role>', 'role (repeatable)', collect)
    .action(async (opts) => {
      let card: unknown;
      if (opts.file) {
        const cards = readAgentCards(opts.file);
        if (cards.length !== 1)
          throw new CliError(`${opts.file} holds ${cards.length} cards; use agent apply for many`);
        card = cards[0];
      } else {
        if (!opts.id) throw new CliError('give --file or at least --id and --name', 2);
        card = Object.fromEntries(
          Object.entries({
            id: opts.id,
            name: opts.name ?? opts.id,
            owner: opts.owner,
            purpose: opts.purpose,
            environment: opts.environment,
            model: opts.model,
            toolset: opts.tool,
            roles: opts.role,
          }).filter(([, v]) => v !== undefined),
        );
      }
      const created = await client().request<AgentCard>('POST', '/v1/agents', card);
      print(created, !!globals().json, () => `registered agent ${created.id}${flagNote(created)}`);
    });

  agent
    .command('apply')
    .description('create or update every card in a file, all or nothing (idempotent)')
    .requiredOption('-f, --file <file>', 'cards file (YAML or JSON; documents, an agents: list, or an array)')
    .action(async (opts: { file: string }) => {
      const agents = readAgentCards(opts.file);
      const result = await client().request<{ results: Array<{ id: string; outcome: string }> }>(
        'PUT',
        '/v1/agents',
        {
          agents,
        },
      );
      print(
        result,
        !!globals().json,
        () => result.results.map((r) => `${r.id}: ${r.outcome}`).join('\n') || '(no cards)',
      );
    });

  agent
    .command('list')
    .description('list agent cards')
    .option('--status <status>', 'active, suspended or retired')
    .option('--owner <person>', 'only agents of this owner')
    .option('--environment <env>', 'dev, staging or prod')
    .action(async (opts: { status?: string; owner?: string; environment?: string }) => {
      const query = new URLSearchParams(Object.entries(opts).filter(([, v]) => v) as Array<[string, string]>);
      const qs = query.size ? `?${query}` : '';
      const { agents } = await client().request<{ agents: AgentCard[] }>('GET', `/v1/agents${qs}`);
      print(agents, !!globals().json, () =>
        table(agents as unknown as Array<Record<string, unknown>>, columns),
      );
    });

  agent
    .command('show <id>')
    .description('show one agent card')
    .action(async (id: string) => {
      const card = await client().request<AgentCard>('GET', `/v1/agents/${encodeURIComponent(id)}`);
      print(card, !!globals().json, () => keyValues(card as unknown as Record<string, unknown>));
    });

  for (const action of ['suspend', 'resume', 'retire'] as const) {
    agent
      .command(`${action} <id>`)
      .description(`${action} an agent`)
      .action(async (id: string) => {
        const card = await client().request<AgentCard>(
          'POST',
          `/v1/agents/${encodeURIComponent(id)}/${action}`,
        );
        print(card, !!globals().json, () => `agent ${card.id} is now ${card.status}`);
      });
  }
}

function flagNote(card: AgentCard): string {
  return card.flags.length ? ` (flags: ${card.flags.join(', ')})` : '';
}
