import type { Command } from 'commander';
import { parseInjectRule } from '../../broker/injection.ts';
import { apiClient, CliError } from '../client.ts';
import { checkedLocally, notePerPersonSecrets } from '../spec-checks.ts';
import { keyValues, print, table } from '../output.ts';

interface GlobalOpts {
  addr?: string;
  token?: string;
  json?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `METHOD path-glob=value` pairs; the value is after the last `=`. */
function rulePairs(list: string[] = [], what: string): Array<[string, string]> {
  return list.map((item) => {
    const at = item.lastIndexOf('=');
    if (at <= 0) throw new CliError(`${what} must be 'METHOD /path-glob=value', got ${item.slice(0, 40)}`, 2);
    return [item.slice(0, at).trim(), item.slice(at + 1).trim()];
  });
}

export function connectionCommand(program: Command) {
  const connection = program.command('connection').description('HTTP APIs and databases behind the credential broker (/broker/<name>/…)');
  const globals = () => program.opts<GlobalOpts>();
  const client = () => apiClient(globals());

  connection
    .command('add <name>')
    .description('register a connection: an HTTP API (--base-url) or a PostgreSQL database (--type postgres)')
    .option('--type <type>', 'http (default) or postgres', 'http')
    .option('--base-url <url>', 'the API base URL; agents reach <base-url>/<path> at /broker/<name>/<path>')
    .option('--inject <rule>', "header:Name=… | query:param=… | basic:user:password, with {{secret:name}} or {{secret:name/<sub>}} (repeatable)", collect)
    .option('--allow <rule>', "'METHOD /path-glob' the connection may be called with, e.g. 'GET /repos/**' (repeatable)", collect)
    .option('--cost <rule=units>', "budget cost, e.g. 'POST /repos/**=5' (repeatable)", collect)
    .option('--classification <rule=level>', "public, internal, confidential or restricted, e.g. 'GET /admin/**=restricted' (repeatable)", collect)
    .option('--high-impact <rule>', "requests needing a person's approval, e.g. 'DELETE /**' (repeatable)", collect)
    .option('--timeout <ms>', 'upstream timeout in milliseconds (default 30000)')
    .option('--body-limit <bytes>', 'request and response body limit (default 10 MiB)')
    .option('--insecure', 'allow plain http: to a host other than a loopback address (development only)')
    .option('--path-case <case>', 'sensitive (default) or insensitive: whether the upstream tells /Admin from /admin')
    .option('--dsn-secret <name>', 'postgres: the secret holding the admin postgres:// URL')
    .option('--grant-template <sql>', "postgres: grants for each mandate's role, e.g. 'GRANT SELECT ON public.orders TO {{role}}'")
    .option('--max-rows <n>', 'postgres: rows returned per query (default 1000)')
    .action(async (name: string, opts) => {
      const endpoints = new Map<string, Record<string, unknown>>();
      const entry = (match: string) => endpoints.get(match) ?? endpoints.set(match, { match }).get(match)!;
      for (const [match, cost] of rulePairs(opts.cost, '--cost')) entry(match).cost = Number(cost);
      for (const [match, level] of rulePairs(opts.classification, '--classification')) entry(match).classification = level;
      for (const match of opts.highImpact ?? []) entry(match.trim()).high_impact = true;
      const common = {
        name,
        type: opts.type,
        endpoints: [...endpoints.values()],
        ...(opts.timeout ? { timeout_ms: Number(opts.timeout) } : {}),
        ...(opts.bodyLimit ? { body_limit: Number(opts.bodyLimit) } : {}),
      };
      const spec =
        opts.type === 'postgres'
          ? { ...common, dsn_secret: opts.dsnSecret, grant_template: opts.grantTemplate, ...(opts.maxRows ? { max_rows: Number(opts.maxRows) } : {}) }
          : { ...common, base_url: opts.baseUrl, inject: opts.inject ?? [], allow: opts.allow ?? [], ...(opts.insecure ? { insecure: true } : {}), ...(opts.pathCase ? { path_case: opts.pathCase } : {}) };
      for (const rule of opts.inject ?? []) checkedLocally(() => parseInjectRule(rule));
      const created = await client().request<{ name: string }>('POST', '/v1/connections', spec);
      print(created, !!globals().json, () => `added connection ${created.name}: agents reach it at ${client().addr}/broker/${created.name}/…`);
      notePerPersonSecrets(opts.inject ?? []);
    });

  connection
    .command('list')
    .description('list connections')
    .action(async () => {
      const { connections } = await client().request<{ connections: Array<Record<string, unknown>> }>('GET', '/v1/connections');
      const rows = connections.map((c) => ({ ...c, target: c.type === 'postgres' ? `secret:${c.dsn_secret}` : c.base_url, rules: c.type === 'postgres' ? 'POST /query' : (c.allow as string[]).join(', ') }));
      print(connections, !!globals().json, () => table(rows, ['name', 'type', 'target', 'rules']));
    });

  connection
    .command('show <name>')
    .description('show a connection (and, for a database, the live mandate roles)')
    .action(async (name: string) => {
      const spec = await client().request<Record<string, unknown>>('GET', `/v1/connections/${encodeURIComponent(name)}`);
      const { roles, endpoints, ...rest } = spec as { roles?: Array<Record<string, unknown>>; endpoints: Array<Record<string, unknown>> };
      print(spec, !!globals().json, () =>
        [keyValues(Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v]))), endpoints.length ? table(endpoints, ['match', 'cost', 'classification', 'high_impact']) : '', roles ? table(roles, ['role', 'status', 'expires_at']) : '']
          .filter(Boolean)
          .join('\n\n'),
      );
    });

  connection
    .command('remove <name>')
    .description("remove a connection (a database's mandate roles are dropped first)")
    .action(async (name: string) => {
      await client().request('DELETE', `/v1/connections/${encodeURIComponent(name)}`);
      print({ removed: name }, !!globals().json, () => `removed connection ${name}`);
    });
}
