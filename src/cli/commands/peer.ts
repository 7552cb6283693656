import fs from 'node:fs';
import type { Command } from 'commander';
import { apiClient, CliError } from '../client.ts';
import { keyValues, print, table } from '../output.ts';

interface GlobalOpts {
  addr?: string;
  token?: string;
  json?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The peer's agent card: a JSON file, or fetched from the peer's own URL (http/https). */
async function readCard(source: string): Promise<Record<string, unknown>> {
  let text: string;
  if (/^https?:\/\//.test(source)) {
    const response = await fetch(source, { signal: AbortSignal.timeout(10_000) }).catch((error: Error) => {
      throw new CliError(`the agent card could not be fetched from ${source}: ${error.message}`, 1);
    });
    if (!response.ok) throw new CliError(`the agent card could not be fetched from ${source}: HTTP ${response.status}`, 1);
    text = await response.text();
  } else {
    try {
      text = fs.readFileSync(source, 'utf8');
    } catch {
      throw new CliError(`no agent card file at ${source}`, 2);
    }
  }
  try {
    const card = JSON.parse(text) as unknown;
    if (typeof card !== 'object' || card === null || Array.isArray(card)) throw new Error('not an object');
    return card as Record<string, unknown>;
  } catch {
    throw new CliError(`the agent card at ${source} is not a JSON object`, 2);
  }
}

/** `method=value` pairs. */
function pairs(list: string[] = [], what: string): Array<[string, string]> {
  return list.map((item) => {
    const at = item.indexOf('=');
    if (at <= 0) throw new CliError(`${what} must be METHOD=VALUE, e.g. message/send=5`, 2);
    return [item.slice(0, at), item.slice(at + 1)];
  });
}

export function peerCommand(program: Command) {
  const peer = program.command('peer').description('agents reached over A2A through Mandate (/a2a/<name>)');
  const globals = () => program.opts<GlobalOpts>();
  const client = () => apiClient(globals());

  peer
    .command('add <name>')
    .description("register an A2A agent: its JSON-RPC endpoint, its agent card, and the Mandate agent it runs as")
    .requiredOption('--url <url>', "the peer's A2A JSON-RPC endpoint")
    .requiredOption('--card <file-or-url>', 'its agent card: a JSON file, or the URL it is published at')
    .requiredOption('--agent <id>', 'the Mandate agent the peer runs as (it receives a derived mandate with every call)')
    .option('--instance <id>', 'the instance, when that agent has several')
    .option('--cost <method=units>', 'budget cost of a method, e.g. message/send=5 (repeatable)', collect)
    .option('--classification <method=level>', 'public, internal, confidential or restricted (repeatable)', collect)
    .option('--high-impact <method>', 'a method that needs a person’s approval per call, e.g. tasks/cancel (repeatable)', collect)
    .option('--timeout <ms>', 'timeout of a call that is not streamed, in milliseconds')
    .action(async (name: string, opts) => {
      const methods: Record<string, { cost?: number; classification?: string; high_impact?: boolean }> = {};
      for (const [method, cost] of pairs(opts.cost, '--cost')) methods[method] = { ...methods[method], cost: Number(cost) };
      for (const [method, level] of pairs(opts.classification, '--classification')) methods[method] = { ...methods[method], classification: level };
      for (const method of opts.highImpact ?? []) methods[method] = { ...methods[method], high_impact: true };
      const spec = {
        name,
        url: opts.url,
        card: await readCard(opts.card),
        agent: opts.agent,
        ...(opts.instance ? { instance: opts.instance } : {}),
        methods,
        ...(opts.timeout ? { timeout_ms: Number(opts.timeout) } : {}),
      };
      const created = await client().request<{ name: string }>('POST', '/v1/peers', spec);
      const at = `${client().addr}/a2a/${created.name}`;
      print(created, !!globals().json, () => `added A2A peer ${created.name}: agents reach it at ${at} (card: ${at}/.well-known/agent-card.json)`);
    });

  peer
    .command('list')
    .description('list A2A peers')
    .action(async () => {
      const { peers } = await client().request<{ peers: Array<Record<string, unknown>> }>('GET', '/v1/peers');
      const rows = peers.map((p) => ({ ...p, card: (p.card as { name?: string }).name ?? '' }));
      print(peers, !!globals().json, () => table(rows, ['name', 'agent', 'card', 'url']));
    });

  peer
    .command('show <name>')
    .description('show an A2A peer')
    .action(async (name: string) => {
      const spec = await client().request<Record<string, unknown>>('GET', `/v1/peers/${encodeURIComponent(name)}`);
      const methods = Object.entries((spec.methods ?? {}) as Record<string, Record<string, unknown>>).map(([method, meta]) => ({ method, ...meta }));
      print(spec, !!globals().json, () =>
        [
          keyValues({ name: spec.name, url: spec.url, agent: spec.agent, instance: spec.instance ?? '(its only active instance)', card: (spec.card as { name?: string }).name ?? '', timeout_ms: spec.timeout_ms }),
          methods.length > 0 ? table(methods, ['method', 'cost', 'classification', 'high_impact']) : '',
        ]
          .filter(Boolean)
          .join('\n\n'),
      );
    });

  peer
    .command('remove <name>')
    .description('remove an A2A peer')
    .action(async (name: string) => {
      await client().request('DELETE', `/v1/peers/${encodeURIComponent(name)}`);
      print({ removed: name }, !!globals().json, () => `removed A2A peer ${name}`);
    });
}
