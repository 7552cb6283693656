import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { credentialsIn, redactCredentials, sha256Of } from './credentials.ts';
import type { FindingDraft } from './finding-draft.ts';

/**
 * Scanner 1: MCP client configurations on disk or in a checked-out repository. Each MCP server
 * configured there that does not go through Mandate is a finding, and so is each credential
 * written inline in one (its env, headers, arguments or URL), recorded by hash and hint only.
 */
export const CLIENT_FILES: ReadonlyArray<{ client: string; file: string }> = [
  { client: 'claude-code', file: '.mcp.json' },
  { client: 'claude-code', file: '.claude.json' },
  { client: 'claude-desktop', file: 'claude_desktop_config.json' },
  { client: 'cursor', file: '.cursor/mcp.json' },
  { client: 'vscode', file: '.vscode/mcp.json' },
  { client: 'windsurf', file: 'mcp_config.json' },
  { client: 'gemini-cli', file: '.gemini/settings.json' },
  { client: 'cline', file: 'cline_mcp_settings.json' },
  { client: 'zed', file: '.zed/settings.json' },
];

/** Where desktop clients keep their user-level config, under a home directory. */
export const HOME_FILES: readonly string[] = [
  'Library/Application Support/Claude/claude_desktop_config.json',
  '.config/Claude/claude_desktop_config.json',
  'AppData/Roaming/Claude/claude_desktop_config.json',
  '.codeium/windsurf/mcp_config.json',
  '.cursor/mcp.json',
  '.claude.json',
  '.gemini/settings.json',
  'Library/Application Support/Code/User/mcp.json',
  '.config/Code/User/mcp.json',
];

const SKIP_DIRS = new Set(['node_modules', '.git', 'dist', 'build', '.venv', 'venv', '__pycache__', 'target']);
const MAX_FILE_BYTES = 1024 * 1024;

export interface ScanLimits {
  maxDepth: number;
  maxFiles: number;
}

const clientOf = (file: string) => {
  const normalized = file.split(path.sep).join('/');
  return CLIENT_FILES.find((c) => normalized.endsWith(`/${c.file}`) || normalized === c.file)?.client ?? 'unknown';
};

/** The MCP client config files under `root` (a file is taken as is), walking at most `maxDepth` levels. */
export function findConfigFiles(root: string, limits: ScanLimits = { maxDepth: 6, maxFiles: 500 }): string[] {
  const found: string[] = [];
  const stat = fs.statSync(root, { throwIfNoEntry: false });
  if (!stat) return found;
  if (stat.isFile()) return [path.resolve(root)];
  const names = new Set(CLIENT_FILES.map((c) => path.basename(c.file)));
  const walk = (dir: string, depth: number) => {
    if (found.length >= limits.maxFiles) return;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const file = path.join(dir, entry.name);
      if (entry.isFile() && names.has(entry.name) && clientOf(file) !== 'unknown') found.push(file);
      else if (entry.isDirectory() && !entry.isSymbolicLink() && depth < limits.maxDepth && !SKIP_DIRS.has(entry.name)) walk(file, depth + 1);
    }
  };
  walk(path.resolve(root), 0);
  return found.sort();
}

/** The user-level configs that exist under a home directory. */
export const homeConfigFiles = (home = os.homedir()) => HOME_FILES.map((f) => path.join(home, f)).filter((f) => fs.existsSync(f));

/** JSON with comments and trailing commas (VS Code, Zed): strip them outside strings, then parse. */
export function parseJsonc(text: string): unknown {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '"') {
      const end = /^"(?:[^"\\]|\\.)*"/.exec(text.slice(i));
      out += end?.[0] ?? text.slice(i);
      i += (end?.[0].length ?? text.length) - 1;
    } else if (ch === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (ch === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 1;
    } else out += ch;
  }
  return JSON.parse(out.replace(/,(\s*[}\]])/g, '$1'));
}

interface ServerEntry {
  name: string;
  command?: unknown;
  args?: unknown;
  url?: unknown;
  serverUrl?: unknown;
  httpUrl?: unknown;
  env?: unknown;
  headers?: unknown;
  type?: unknown;
}

/** Server maps by client: `mcpServers` (most), `servers` (VS Code), `context_servers` (Zed), per project (`.claude.json`). */
function serversOf(doc: unknown): Array<{ scope: string; entry: ServerEntry }> {
  if (!doc || typeof doc !== 'object') return [];
  const found: Array<{ scope: string; entry: ServerEntry }> = [];
  const take = (map: unknown, scope: string) => {
    if (!map || typeof map !== 'object' || Array.isArray(map)) return;
    for (const [name, entry] of Object.entries(map as Record<string, unknown>)) {
      if (entry && typeof entry === 'object' && !Array.isArray(entry)) found.push({ scope, entry: { ...(entry as object), name } });
    }
  };
  const d = doc as Record<string, unknown>;
  take(d.mcpServers, '');
  take(d.servers, '');
  take(d.context_servers, '');
  if (d.mcp && typeof d.mcp === 'object') take((d.mcp as Record<string, unknown>).servers, '');
  if (d.projects && typeof d.projects === 'object') {
    for (const [project, settings] of Object.entries(d.projects as Record<string, unknown>)) {
      if (settings && typeof settings === 'object') take((settings as Record<string, unknown>).mcpServers, project);
    }
  }
  return found;
}

const strings = (value: unknown): string[] => {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
};

/** Whether the server goes through Mandate: its gateway's URL, or Mandate's stdio bridge. */
function governed(entry: ServerEntry, mandateUrls: readonly string[]): boolean {
  const url = [entry.url, entry.serverUrl, entry.httpUrl].find((u) => typeof u === 'string') as string | undefined;
  if (url && mandateUrls.some((base) => url.startsWith(`${base.replace(/\/$/, '')}/mcp/`))) return true;
  const argv = [entry.command, ...(Array.isArray(entry.args) ? entry.args : [])].filter((a): a is string => typeof a === 'string');
  return argv.some((a, i) => /(^|[/\\])mandate(\.js)?$/.test(a) && argv[i + 1] === 'mcp-proxy');
}

/** The findings of one config file: servers not behind Mandate, and every inline credential. */
export function scanConfigFile(file: string, mandateUrls: readonly string[] = []): FindingDraft[] {
  const stat = fs.statSync(file, { throwIfNoEntry: false });
  if (!stat?.isFile() || stat.size > MAX_FILE_BYTES) return [];
  let doc: unknown;
  try {
    doc = parseJsonc(fs.readFileSync(file, 'utf8'));
  } catch {
    return [{ scanner: 'mcp-config', kind: 'unreadable-config', severity: 'low', source: file, title: `MCP client config ${file} is not valid JSON`, key: sha256Of(`unreadable\n${file}`), detail: { file, client: clientOf(file) } }];
  }
  const client = clientOf(file);
  const drafts: FindingDraft[] = [];
  for (const { scope, entry } of serversOf(doc)) {
    const where = `${scope ? `${scope} → ` : ''}${entry.name}`;
    const url = [entry.url, entry.serverUrl, entry.httpUrl].find((u) => typeof u === 'string') as string | undefined;
    const command = typeof entry.command === 'string' ? entry.command : undefined;
    const args = Array.isArray(entry.args) ? entry.args.filter((a): a is string => typeof a === 'string') : [];
    const transport = url ? 'http' : 'stdio';
    for (const [field, value] of [['env', entry.env], ['headers', entry.headers], ['args', args], ['url', url], ['command', command]] as const) {
      const names = value && typeof value === 'object' && !Array.isArray(value) ? Object.entries(value as Record<string, unknown>) : [[field, value] as const];
      for (const [name, v] of names) {
        for (const text of strings(v)) {
          for (const credential of credentialsIn(text)) {
            drafts.push({
              scanner: 'mcp-config',
              kind: 'inline-credential',
              severity: 'high',
              source: file,
              title: `${credential.type} credential inline in ${client} config for MCP server ${where} (${field === 'env' || field === 'headers' ? `${field}.${name}` : field})`,
              key: sha256Of(`credential\n${file}\n${where}\n${credential.sha256}`),
              credential: { sha256: credential.sha256, hint: credential.hint, type: credential.type },
              detail: { file, client, server: where, field: field === 'env' || field === 'headers' ? `${field}.${name}` : field },
            });
          }
        }
      }
    }
    if (governed(entry, mandateUrls)) continue;
    drafts.push({
      scanner: 'mcp-config',
      kind: 'mcp-server',
      severity: transport === 'http' ? 'medium' : 'low',
      source: file,
      title: `${client} reaches MCP server ${where} directly (${transport}), not through Mandate`,
      key: sha256Of(`server\n${file}\n${where}`),
      detail: {
        file,
        client,
        server: where,
        transport,
        ...(url ? { url: redactCredentials(url.split('?')[0]!) } : {}),
        ...(command ? { command: redactCredentials([command, ...args].join(' ')).slice(0, 500) } : {}),
        env_names: entry.env && typeof entry.env === 'object' ? Object.keys(entry.env).slice(0, 50) : [],
      },
    });
  }
  return drafts;
}

/** Scan every config file under the roots (and the user's own configs when asked). */
export function scanMcpConfigs(roots: readonly string[], options: { home?: string | false; mandateUrls?: readonly string[]; limits?: ScanLimits } = {}): { files: string[]; findings: FindingDraft[] } {
  const files = [...new Set([...roots.flatMap((root) => findConfigFiles(root, options.limits)), ...(options.home === false ? [] : homeConfigFiles(options.home))])].sort();
  return { files, findings: files.flatMap((file) => scanConfigFile(file, options.mandateUrls ?? [])) };
}
