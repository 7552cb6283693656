import type { Command } from 'commander';
import { checkCredentials } from '../../gateway/server-checks.ts';
import { apiClient, CliError } from '../client.ts';
import { checkedLocally, notePerPersonSecrets } from '../spec-checks.ts';
import { keyValues, print, table } from '../output.ts';

interface GlobalOpts {
  addr?: string;
  token?: string;
  json?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `KEY=VALUE` pairs into an object; the value may hold `{{secret:name}}` placeholders. */
function pairs(list: string[] = [], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const at = item.indexOf('=');
    if (at <= 0) throw new CliError(`${what} must be KEY=VALUE (got a value without a key)`, 2);
    out[item.slice(0, at)] = item.slice(at + 1);
  }
  return out;
}

/** Split a command line on spaces, honoring simple single and double quotes. */
export function splitCommand(line: string): string[] {
  const parts: string[] = [];
  for (const match of line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) parts.push(match[1] ?? match[2] ?? match[3]!);
  return parts;
}

export function serverCommand(program: Command) {
  const server = program.command('server').description('upstream MCP servers behind the gateway (/mcp/<name>)');
  const globals = () => program.opts<GlobalOpts>();
  const client = () => apiClient(globals());

  server
    .command('add <name>')
    .description('register an upstream MCP server')
    .option('--command <command>', 'stdio server command line, spawned and supervised by the gateway')
    .option('--url <url>', 'Streamable HTTP server URL')
    .option('--env <KEY=VALUE>', 'environment for a stdio server (repeatable; {{secret:name}} allowed)', collect)
    .option('--header <Name=VALUE>', 'header for an HTTP server (repeatable; {{secret:name}} allowed)', collect)
    .option('--cost <tool=units>', 'budget cost of a tool (repeatable)', collect)
    .option('--classification <tool=level>', 'public, internal, confidential or restricted (repeatable)', collect)
    .option('--high-impact <tool>', 'a tool that needs human approval per call (repeatable)', collect)
    .option('--timeout <ms>', 'upstream call timeout in milliseconds')
    .action(async (name: string, opts) => {
      if (!!opts.command === !!opts.url) throw new CliError('give exactly one of --command or --url', 2);
      const tools: Record<string, { cost?: number; classification?: string; high_impact?: boolean }> = {};
      for (const [tool, cost] of Object.entries(pairs(opts.cost, '--cost'))) tools[tool] = { ...tools[tool], cost: Number(cost) };
      for (const [tool, level] of Object.entries(pairs(opts.classification, '--classification'))) tools[tool] = { ...tools[tool], classification: level };
      for (const tool of opts.highImpact ?? []) tools[tool] = { ...tools[tool], high_impact: true };
      const spec = {
        name,
        transport: opts.command ? 'stdio' : 'http',
        ...(opts.command ? { command: splitCommand(opts.command) } : { url: opts.url }),
        env: pairs(opts.env, '--env'),
        headers: pairs(opts.header, '--header'),
        tools,
        ...(opts.timeout ? { timeout_ms: Number(opts.timeout) } : {}),
      };
      // Refused here too, before a credential typed on argv travels anywhere.
      checkedLocally(() => checkCredentials(spec));
      const created = await client().request<{ name: string }>('POST', '/v1/servers', spec);
      print(created, !!globals().json, () => `added server ${created.name}: agents reach it at ${client().addr}/mcp/${created.name}`);
      notePerPersonSecrets(Object.values({ ...spec.env, ...spec.headers }));
    });

  server
    .command('list')
    .description('list upstream servers')
    .action(async () => {
      const { servers } = await client().request<{ servers: Array<Record<string, unknown>> }>('GET', '/v1/servers');
      const rows = servers.map((s) => ({ ...s, target: s.transport === 'stdio' ? (s.command as string[]).join(' ') : s.url }));
      print(servers, !!globals().json, () => table(rows, ['name', 'transport', 'target']));
    });

  server
    .command('show <name>')
    .description('show a server and its pinned tools')
    .action(async (name: string) => {
      const spec = await client().request<Record<string, unknown> & { pins: Array<Record<string, unknown>> }>('GET', `/v1/servers/${encodeURIComponent(name)}`);
      print(spec, !!globals().json, () => `${keyValues({ name: spec.name, transport: spec.transport, target: spec.url ?? (spec.command as string[]).join(' ') })}\n\n${table(spec.pins, ['tool', 'status', 'hash'])}`);
    });

  server
    .command('remove <name>')
    .description('remove a server (its pins go too)')
    .action(async (name: string) => {
      await client().request('DELETE', `/v1/servers/${encodeURIComponent(name)}`);
      print({ removed: name }, !!globals().json, () => `removed server ${name}`);
    });

  server
    .command('approve-tool <name> <tool>')
    .description("accept a quarantined tool's new definition")
    .action(async (name: string, tool: string) => {
      const pin = await client().request<{ hash: string }>('POST', `/v1/servers/${encodeURIComponent(name)}/tools/${encodeURIComponent(tool)}/approve`);
      print(pin, !!globals().json, () => `tool ${name}/${tool} approved (definition ${pin.hash.slice(0, 12)}…)`);
    });
}
