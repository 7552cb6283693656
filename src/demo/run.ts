import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import pino from 'pino';
import { loadConfig } from '../config/schema.ts';
import { AgentRuntime, MandateRequestError } from '../sdk/runtime.ts';
import { sha256Hex } from '../sdk/manifest.ts';
import { startServer } from '../server/serve.ts';
import { color, Steps } from './output.ts';

/**
 * `mandate demo`: the whole story on a throw-away data dir — card, attested instance, person,
 * mandate by token exchange with DPoP, a real MCP server behind the gateway, allowed and refused
 * calls, a sub-agent that cannot exceed its parent, a revocation, and the audit trail.
 */
const EVERYTHING = fileURLToPath(new URL('../../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url));
const CODE = 'print("support bot v1.4")';

export interface DemoOptions {
  keep: boolean;
  port: number;
  write?: (line: string) => void;
}

const textOf = (result: unknown) => ((result as CallToolResult).content?.[0] as { text?: string } | undefined)?.text ?? '';

export async function runDemo(options: DemoOptions): Promise<number> {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const steps = new Steps(11, write);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mandate-demo-'));
  const config = loadConfig({ dataDir, port: options.port, logLevel: 'silent', devIssuerProd: true }, {});
  const server = await startServer(config, { logger: pino({ level: 'silent' }) });
  const token = server.adminToken!;
  const admin = async (method: string, route: string, body?: unknown) => {
    const res = await fetch(`${server.url}${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const payload = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok) throw new Error(`${method} ${route}: ${payload.detail ?? res.status}`);
    return payload;
  };
  let client: Client | undefined;
  try {
    write(color.bold(`Mandate demo — an embedded server at ${server.url}, data in ${dataDir}`));

    steps.step('Register agent cards');
    const codeHash = sha256Hex(CODE);
    await admin('POST', '/v1/agents', {
      id: 'support-bot',
      name: 'Support bot',
      owner: 'alice@example.com',
      purpose: 'Answers tickets',
      environment: 'prod',
      code_hashes: [codeHash],
      toolset: ['tool:everything/*'],
      roles: ['operator'],
      may_delegate_to: ['summarizer'],
      default_budget: 500,
    });
    await admin('POST', '/v1/agents', { id: 'summarizer', name: 'Summarizer', owner: 'bob@example.com', environment: 'prod', code_hashes: [codeHash], toolset: ['tool:everything/*'], roles: ['operator'] });
    steps.ok('support-bot (owner alice@example.com, prod, role operator, may delegate to summarizer)');
    steps.ok('summarizer (owner bob@example.com, prod)');

    steps.step('Put a real MCP server behind the gateway, with a credential the agent never sees');
    await admin('PUT', '/v1/secrets/everything_token', { value: 'sk-demo-upstream-credential-7c1f' });
    await admin('POST', '/v1/servers', {
      name: 'everything',
      transport: 'stdio',
      command: [process.execPath, EVERYTHING],
      env: { API_TOKEN: '{{secret:everything_token}}' },
      tools: { 'get-sum': { cost: 600 }, 'trigger-long-running-operation': { high_impact: true } },
    });
    steps.ok(`@modelcontextprotocol/server-everything at ${server.url}/mcp/everything (API_TOKEN injected from the secret store)`);

    steps.step('Provision an instance: its own key, a one-time join token, an attested manifest');
    const join = await admin('POST', '/v1/agents/support-bot/join-tokens', {});
    const bot = await AgentRuntime.bootstrap(server.url, { agent_id: 'support-bot', join_token: String(join.token), code_hash: codeHash, environment: 'prod', runtime: { host: os.hostname() } });
    steps.ok(`identity ${color.bold(bot.spiffeId)}`);
    steps.note(`key thumbprint ${bot.key.jkt} (the private key never left the process)`);

    steps.step('Get a mandate for a task: token exchange (RFC 8693) with DPoP (RFC 9449)');
    const person = await admin('POST', '/v1/users/token', { subject: 'alice@example.com' });
    const resource = `${server.url}/mcp/everything`;
    const mandate = await bot.obtainMandate({
      subjectToken: String(person.token),
      scope: 'tool:everything/echo tool:everything/get-sum tool:everything/get-env tool:everything/trigger-long-running-operation',
      resource,
      task: { id: 'T-42', description: 'answer ticket 42', budget: 500 },
    });
    const claims = JSON.parse(Buffer.from(mandate.token.split('.')[1]!, 'base64url').toString());
    steps.ok(`sub=${claims.sub}  act=${claims.act.sub}`);
    steps.note(`scope: ${claims.scope}`);
    steps.note(`expires in ${claims.exp - claims.iat} s, budget ${claims.budget}, bound to key ${claims.cnf.jkt.slice(0, 12)}…`);

    steps.step('Connect an MCP client through the gateway: it sees only what the mandate covers');
    client = new Client({ name: 'demo-agent', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(resource), { fetch: bot.fetchWith(mandate) }));
    const { tools } = await client.listTools();
    steps.ok(`tools/list → ${tools.map((t) => t.name).join(', ')}`);
    steps.note('the other tools of the server are invisible');

    steps.step('An allowed call, and one refused by policy with its reason');
    const echo = await client.callTool({ name: 'echo', arguments: { message: 'Hello from ticket 42' } });
    steps.ok(`echo → ${textOf(echo)}`);
    const env = await client.callTool({ name: 'get-env', arguments: {} });
    steps.ok(`get-env → the upstream credential comes back as ${JSON.stringify(env).includes('[REDACTED]') ? '[REDACTED]' : 'missing'}`);
    const costly = await client.callTool({ name: 'get-sum', arguments: { a: 2, b: 3 } });
    steps.refused(`get-sum (cost 600, budget 500) → ${textOf(costly)}`);

    steps.step('A high-impact call is held for a person to approve');
    const held = await client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 1, steps: 1 } });
    steps.refused(`trigger-long-running-operation → ${textOf(held)}`);
    const pending = ((await admin('GET', '/v1/approvals').catch(() => ({ approvals: [] }))) as { approvals?: Array<{ id: string; status: string }> }).approvals ?? [];
    const approval = pending.find((a) => a.status === 'pending');
    if (approval) {
      await admin('POST', `/v1/approvals/${approval.id}/approve`, {});
      const retried = await client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 1, steps: 1 } });
      steps.ok(`approved ${approval.id}; the same call now → ${retried.isError ? textOf(retried) : 'done'}`);
    } else {
      steps.note('(approvals are not enabled on this build: the call stays refused)');
    }

    steps.step('A sub-agent mandate can never exceed its parent');
    const joinChild = await admin('POST', '/v1/agents/summarizer/join-tokens', {});
    const sub = await AgentRuntime.bootstrap(server.url, { agent_id: 'summarizer', join_token: String(joinChild.token), code_hash: codeHash, environment: 'prod' });
    try {
      await sub.obtainMandate({ subjectToken: mandate.token, scope: 'tool:everything/get-tiny-image', resource });
      steps.refused('a wider scope was granted (this should not happen)');
    } catch (error) {
      steps.ok(`asking for more than the parent → ${(error as MandateRequestError).message}`);
    }
    const child = await sub.obtainMandate({ subjectToken: mandate.token, scope: 'tool:everything/echo', resource });
    const childClaims = JSON.parse(Buffer.from(child.token.split('.')[1]!, 'base64url').toString());
    steps.ok(`narrower mandate granted: scope ${childClaims.scope}, chain ${childClaims.sub} → ${childClaims.act.act.sub} → ${childClaims.act.sub}`);

    steps.step('Revoke the parent mandate: everything derived from it stops at once');
    await fetch(`${server.url}/oauth/revoke`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: mandate.token }) });
    const subClient = new Client({ name: 'demo-sub-agent', version: '1.0.0' });
    try {
      await subClient.connect(new StreamableHTTPClientTransport(new URL(resource), { fetch: sub.fetchWith(child) }));
      steps.refused('the sub-agent still got in (this should not happen)');
    } catch {
      steps.ok('the sub-agent is refused: 401 invalid_token (mandate revoked)');
    }

    steps.step('The audit trail for support-bot, and its verification');
    type Row = { type: string; resource?: string | null; decision?: string | null; denial_reason?: string | null };
    const trail = (await admin('GET', '/v1/audit/events?agent=support-bot&limit=1000')) as { events?: Array<{ event: Row }> };
    const events = (trail.events ?? []).map((e) => e.event);
    for (const e of events) steps.note(`${e.type.padEnd(18)} ${String(e.resource ?? '').slice(0, 44).padEnd(44)} ${e.decision ?? ''} ${e.denial_reason ?? ''}`);
    steps.ok(`${events.length} events for support-bot, each hash-chained per instance`);
    await admin('POST', '/v1/audit/checkpoints');
    const verified = (await admin('GET', '/v1/audit/verify')) as { ok?: boolean };
    if (verified.ok) steps.ok('audit verify: every chain and the signed checkpoint check out');
    else steps.refused(`audit verify failed: ${JSON.stringify(verified).slice(0, 300)}`);

    steps.step('Done');
    if (options.keep) {
      fs.writeFileSync(path.join(dataDir, 'cli.json'), JSON.stringify({ addr: server.url, token }), { mode: 0o600 });
      write(`\nThe server keeps running. In another terminal:\n  export MANDATE_DATA_DIR=${dataDir}\n  npx mandate agent list\nPress Ctrl+C to stop.`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
    }
    return 0;
  } finally {
    await client?.close().catch(() => {});
    await server.close();
    if (!options.keep) fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
