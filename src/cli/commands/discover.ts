import type { Command } from 'commander';
import type { Finding as FindingRecord } from '../../lifecycle/findings.ts';
import { apiClient } from '../client.ts';
import { print, table } from '../output.ts';

/** A finding as the API answers it (a mapped copy, so tables take it as a plain record). */
type Finding = { [K in keyof FindingRecord]: FindingRecord[K] };

interface GlobalOpts {
  addr?: string;
  token?: string;
  json?: boolean;
}


interface Outcome {
  new: number;
  seen: number;
  findings: Finding[];
  scanners?: Record<string, unknown>;
}

/**
 * `mandate discover`: shadow agents. MCP client configs are scanned here, where the files are
 * (credentials leave this machine only as a SHA-256 and a hint); PostgreSQL logins and refused
 * clients are scanned by the server. Everything lands in one findings queue.
 */
export function discoverCommand(program: Command) {
  const globals = () => program.opts<GlobalOpts>();
  program
    .command('discover [paths...]')
    .description('find shadow agents: MCP client configs (and inline credentials) under the paths, PostgreSQL logins not made by Mandate, clients refused without a mandate')
    .option('--no-home', "skip the user's own MCP client configs (Claude Desktop, Cursor, VS Code, Windsurf, …)")
    .option('--no-server', "skip the server's scanners (PostgreSQL logins, refused clients)")
    .option('--dry-run', 'print what the config scan finds; report nothing')
    .option('--allow <roles>', 'PostgreSQL login roles not to report this time, comma-separated')
    .option('--since <window>', 'refused clients seen within this window (7d, 24h)', '7d')
    .option('--min-attempts <n>', 'refused attempts a source needs to be reported', '1')
    .option('--depth <n>', 'directory levels to walk under each path', '6')
    .action(async (paths: string[], opts: { home: boolean; server: boolean; dryRun?: boolean; allow?: string; since: string; minAttempts: string; depth: string }) => {
      const { scanMcpConfigs } = await import('../../lifecycle/discovery/mcp-configs.ts');
      const client = apiClient(globals());
      const roots = paths.length > 0 ? paths : [process.cwd()];
      const { files, findings } = scanMcpConfigs(roots, { home: opts.home ? undefined : false, mandateUrls: [client.addr], limits: { maxDepth: Number(opts.depth) || 6, maxFiles: 500 } });
      if (opts.dryRun) {
        const shown = findings.map(({ key: _key, credential, ...f }) => ({ ...f, ...(credential ? { credential: { type: credential.type, hint: credential.hint } } : {}) }));
        print({ files, findings: shown }, !!globals().json, () => `${files.length} MCP client config file(s) scanned\n${table(shown, ['severity', 'kind', 'title'])}`);
        return;
      }
      const reported = findings.length > 0 ? await client.request<Outcome>('POST', '/v1/findings', { findings }) : { new: 0, seen: 0, findings: [] };
      const scanned = opts.server
        ? await client.request<Outcome>('POST', '/v1/findings/scan', {
            allow: (opts.allow ?? '').split(',').map((r) => r.trim()).filter(Boolean),
            since: opts.since,
            min_attempts: Number(opts.minAttempts),
          })
        : undefined;
      const all = [...reported.findings, ...(scanned?.findings ?? [])];
      const summary = { files: files.length, new: reported.new + (scanned?.new ?? 0), seen_again: reported.seen + (scanned?.seen ?? 0), findings: all, ...(scanned?.scanners ? { scanners: scanned.scanners } : {}) };
      print(summary, !!globals().json, () =>
        [`${files.length} MCP client config file(s) scanned${opts.server ? '; server scanners: PostgreSQL logins, refused clients' : ''}`, `${summary.new} new finding(s), ${summary.seen_again} seen again`, table(all, ['id', 'severity', 'status', 'kind', 'seen', 'title']), 'claim one: mandate findings claim <id> --agent <id> --owner <person>; dismiss: mandate findings dismiss <id> --reason "…"'].join('\n'),
      );
    });
}
