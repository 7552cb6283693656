import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { credentialsIn, redactCredentials } from './credentials.ts';
import { findingDraftSchema } from './finding-draft.ts';
import { parseJsonc, scanMcpConfigs } from './mcp-configs.ts';

// Made-up credentials in the recognised formats (none is a real key).
export const KEYS = {
  github: `ghp_${'A1b2C3d4E5'.repeat(3)}xyzW`,
  openai: `sk-proj-${'Zq8Lm2Np4Rt6'.repeat(3)}`,
  slack: 'xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx',
  aws: 'AKIAQWERTYUIOPASDF12',
  random: 'b8F3kQ9zX2mV7pL4tR6wY1nC5hJ0sD8g',
};

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mandate-mcp-configs-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const write = (file: string, value: unknown) => {
  const full = path.join(dir, file);
  fs.mkdirSync(path.dirname(full), { recursive: true });
  fs.writeFileSync(full, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  return full;
};

describe('inline credentials', () => {
  it('recognises key formats and high-entropy values, and shows only a hint', () => {
    expect(credentialsIn(KEYS.github)).toEqual([expect.objectContaining({ type: 'github', hint: `ghp_…${KEYS.github.slice(-4)}` })]);
    expect(credentialsIn(`Bearer ${KEYS.openai}`)).toEqual([expect.objectContaining({ type: 'openai', hint: `sk-proj-…${KEYS.openai.slice(-4)}` })]);
    expect(credentialsIn(KEYS.slack)[0]?.type).toBe('slack');
    expect(credentialsIn(`--key=${KEYS.aws}`)[0]?.type).toBe('aws-access-key');
    expect(credentialsIn(KEYS.random)[0]).toMatchObject({ type: 'high-entropy', hint: `…${KEYS.random.slice(-4)}` });
    expect(JSON.stringify(credentialsIn(KEYS.random))).not.toContain(KEYS.random);
  });

  it('leaves references, paths, package names and words alone', () => {
    for (const value of ['${env:GITHUB_TOKEN}', '${input:api-key}', '$OPENAI_API_KEY', '/usr/local/bin/node', '@modelcontextprotocol/server-github', 'https://api.example.com/mcp', 'production-environment-name']) {
      expect(credentialsIn(value), value).toEqual([]);
    }
    expect(redactCredentials(`https://x.example/mcp?key=${KEYS.openai}`)).not.toContain(KEYS.openai);
  });
});

describe('MCP client configs', () => {
  const repo = path.join(dir, 'repo');
  write('repo/.mcp.json', { mcpServers: { github: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-github'], env: { GITHUB_PERSONAL_ACCESS_TOKEN: KEYS.github } } } });
  write('repo/.cursor/mcp.json', { mcpServers: { crm: { url: 'https://crm.example.com/mcp', headers: { Authorization: `Bearer ${KEYS.openai}` } } } });
  write('repo/.vscode/mcp.json', `{
    // VS Code's own format: "servers", comments, inputs
    "servers": { "db": { "type": "stdio", "command": "db-mcp", "env": { "DB_PASSWORD": "\${input:db-password}" } }, },
  }`);
  write('repo/sub/mcp_config.json', { mcpServers: { slack: { command: 'slack-mcp', env: { SLACK_BOT_TOKEN: KEYS.slack } } } });
  write('repo/node_modules/pkg/.mcp.json', { mcpServers: { hidden: { command: 'x' } } });
  write('home/Library/Application Support/Claude/claude_desktop_config.json', { mcpServers: { governed: { command: 'mandate', args: ['mcp-proxy', '--server', 'everything'] }, files: { command: 'npx', args: ['server-filesystem', '/Users/me'] } } });

  it('finds every client format, each server not behind Mandate, and each inline credential', () => {
    const { files, findings } = scanMcpConfigs([repo], { home: path.join(dir, 'home') });
    expect(files.map((f) => path.relative(dir, f))).toEqual([
      'home/Library/Application Support/Claude/claude_desktop_config.json',
      'repo/.cursor/mcp.json',
      'repo/.mcp.json',
      'repo/.vscode/mcp.json',
      'repo/sub/mcp_config.json',
    ]);
    const servers = findings.filter((f) => f.kind === 'mcp-server').map((f) => `${f.detail.client} ${f.detail.server} ${f.detail.transport}`);
    expect(servers.sort()).toEqual(['claude-code github stdio', 'claude-desktop files stdio', 'cursor crm http', 'vscode db stdio', 'windsurf slack stdio']);
    const credentials = findings.filter((f) => f.kind === 'inline-credential').map((f) => `${f.detail.server} ${f.detail.field} ${f.credential!.type}`);
    expect(credentials.sort()).toEqual(['crm headers.Authorization openai', 'github env.GITHUB_PERSONAL_ACCESS_TOKEN github', 'slack env.SLACK_BOT_TOKEN slack']);
    for (const finding of findings) expect(findingDraftSchema.parse(finding)).toEqual(finding);
    const text = JSON.stringify(findings);
    for (const key of Object.values(KEYS)) expect(text).not.toContain(key);
  });

  it('reads JSON with comments and trailing commas, and reports a file it cannot read', () => {
    expect(parseJsonc('{ "a": "// not a comment", /* c */ "b": [1, 2,], }')).toEqual({ a: '// not a comment', b: [1, 2] });
    const broken = write('broken/.mcp.json', '{ "mcpServers": ');
    expect(scanMcpConfigs([broken], { home: false }).findings).toEqual([expect.objectContaining({ kind: 'unreadable-config', severity: 'low' })]);
  });
});
