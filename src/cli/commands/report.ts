import fs from 'node:fs';
import type { Command } from 'commander';
import { resolveTarget } from '../cli-config.ts';
import { apiClient, CliError } from '../client.ts';
import { table } from '../output.ts';

interface GlobalOpts {
  addr?: string;
  token?: string;
  json?: boolean;
}

interface Hygiene {
  generated_at: string;
  counts: Record<string, number>;
  trend: { previous_at: string | null; delta: Record<string, number> };
}

/** CSV and HTML come as text: fetched here, not through the JSON client. */
async function fetchText(flags: GlobalOpts, path: string): Promise<string> {
  const { addr, token } = resolveTarget(flags);
  let response: Response;
  try {
    response = await fetch(`${addr}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  } catch (error) {
    throw new CliError(`cannot reach Mandate at ${addr} (${(error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message})`, 1);
  }
  const text = await response.text();
  if (!response.ok) {
    let problem: { detail?: string; code?: string } = {};
    try {
      problem = JSON.parse(text) as typeof problem;
    } catch {
      // not a problem document
    }
    throw new CliError(`${problem.detail ?? response.statusText} (${problem.code ?? `HTTP ${response.status}`})`, 1);
  }
  return text;
}

/** `mandate report …`: governance reports. */
export function reportCommand(program: Command) {
  const report = program.command('report').description('governance reports');
  const globals = () => program.opts<GlobalOpts>();

  report
    .command('hygiene')
    .description('agents without owner, orphaned, stale, over-privileged; old secrets and keys; open findings; overdue reviews; with the trend')
    .option('--format <format>', 'json, csv or html (default: a summary table)')
    .option('--out <file>', 'write the report to this file')
    .option('--stale-days <n>', 'days without activity that make an agent stale (default: the server setting)')
    .option('--max-key-age <days>', 'days after which secrets and signing keys are old (default: the server setting)')
    .action(async (opts: { format?: string; out?: string; staleDays?: string; maxKeyAge?: string }) => {
      const format = opts.format ?? (globals().json ? 'json' : undefined);
      if (format !== undefined && !['json', 'csv', 'html'].includes(format)) throw new CliError('--format must be json, csv or html', 2);
      const query = new URLSearchParams({ format: format ?? 'json', ...(opts.staleDays ? { stale_days: opts.staleDays } : {}), ...(opts.maxKeyAge ? { max_key_age_days: opts.maxKeyAge } : {}) });
      const path = `/v1/reports/hygiene?${query}`;
      let text: string;
      if (format === undefined) {
        const r = await apiClient(globals()).request<Hygiene>('GET', path);
        const rows = Object.entries(r.counts).map(([check, now]) => ({ check, now, trend: r.trend.delta[check] === undefined ? '-' : r.trend.delta[check]! > 0 ? `+${r.trend.delta[check]}` : String(r.trend.delta[check]) }));
        text = `hygiene report ${r.generated_at} (trend since ${r.trend.previous_at ?? 'no earlier report'})\n${table(rows, ['check', 'now', 'trend'])}\ndetails: mandate report hygiene --format html --out hygiene.html\n`;
      } else {
        text = await fetchText(globals(), path);
        if (format === 'json') text = `${JSON.stringify(JSON.parse(text), null, 2)}\n`;
      }
      if (!opts.out) return void process.stdout.write(text);
      fs.writeFileSync(opts.out, text);
      process.stdout.write(`hygiene report written to ${opts.out}\n`);
    });
}
