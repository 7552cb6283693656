import type { Command } from 'commander';
import { apiClient } from '../client.ts';
import { keyValues, print, table } from '../output.ts';

interface GlobalOpts {
  addr?: string;
  token?: string;
  json?: boolean;
}

interface Alert {
  id: string;
  time: string;
  rule: string | null;
  severity: string | null;
  subject: string | null;
  message: string;
}

/** One line per setting of a rule: `refusalBurst.refusals = 20`. */
function settingsOf(rules: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(rules)) {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) Object.assign(out, settingsOf(value as Record<string, unknown>, `${prefix}${key}.`));
    else out[`${prefix}${key}`] = value;
  }
  return out;
}

/** `mandate alert …`: alert rules and the alerts they raised. */
export function alertCommand(program: Command) {
  const alert = program.command('alert').description('alert rules and the alerts they raised (delivered to notification sinks subscribed to alert.raised)');
  const globals = () => program.opts<GlobalOpts>();
  const client = () => apiClient(globals());

  alert
    .command('rules')
    .description('show the alert rules in force (alerts.yaml in the data directory over the defaults)')
    .action(async () => {
      const { rules } = await client().request<{ rules: Record<string, unknown> | null }>('GET', '/v1/alerts/rules');
      print(rules, !!globals().json, () => (rules ? keyValues(settingsOf(rules)) : 'alert rules are not running on this server'));
    });

  alert
    .command('list')
    .description('list alerts raised, newest first')
    .option('--rule <name>', 'only this rule: anomaly, refusal-burst, approval-backlog, sink-lag, replica-unsynchronized, audit-verification')
    .option('--limit <n>', 'at most this many', '50')
    .action(async (opts: { rule?: string; limit: string }) => {
      const query = new URLSearchParams({ limit: opts.limit, ...(opts.rule ? { rule: opts.rule } : {}) });
      const { alerts } = await client().request<{ alerts: Alert[] }>('GET', `/v1/alerts?${query}`);
      print(alerts, !!globals().json, () => table(alerts.map((a) => ({ ...a })), ['time', 'severity', 'rule', 'subject', 'message']));
    });
}
