import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { CliError } from '../client.ts';
import { resolveTarget } from '../cli-config.ts';

/**
 * `mandate mcp-proxy <server>`: a local stdio MCP server for clients that only launch stdio
 * servers. It loads (or bootstraps, with a join token) an instance identity, obtains a mandate
 * by token exchange, and relays every message to the gateway with a fresh DPoP proof.
 * stdout carries only JSON-RPC; everything else goes to stderr.
 */
export function mcpProxyCommand(program: Command) {
  program
    .command('mcp-proxy <server>')
    .description('stdio bridge to the gateway for MCP clients that only launch stdio servers')
    .option('--identity <file>', 'instance identity file, created on first bootstrap (MANDATE_IDENTITY_FILE)')
    .option('--agent <id>', 'agent id, for the first bootstrap (MANDATE_AGENT)')
    .option('--join-token <token>', 'join token, for the first bootstrap (MANDATE_JOIN_TOKEN)')
    .option('--code-hash <sha256>', 'code hash to attest (MANDATE_CODE_HASH)')
    .option('--environment <env>', 'environment to attest (MANDATE_ENVIRONMENT, default dev)')
    .option('--model <model>', 'model to attest (MANDATE_MODEL)')
    .option('--subject-token <token>', "the person's token the agent acts for (MANDATE_SUBJECT_TOKEN)")
    .option('--scope <scope>', 'scope to ask for (default tool:<server>/*)')
    .action(async (server: string, opts) => {
      const env = process.env;
      const { AgentRuntime } = await import('../../sdk/runtime.ts');
      const { StdioServerTransport } = await import('@modelcontextprotocol/sdk/server/stdio.js');
      const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
      const base = resolveTarget({ addr: program.opts().addr }).addr;
      const file = path.resolve(opts.identity ?? env.MANDATE_IDENTITY_FILE ?? '.mandate-identity.json');
      let runtime;
      if (fs.existsSync(file)) {
        runtime = AgentRuntime.restore(JSON.parse(fs.readFileSync(file, 'utf8')));
      } else {
        const agent = opts.agent ?? env.MANDATE_AGENT;
        const joinToken = opts.joinToken ?? env.MANDATE_JOIN_TOKEN;
        const codeHash = opts.codeHash ?? env.MANDATE_CODE_HASH;
        if (!agent || !joinToken || !codeHash) throw new CliError(`no identity at ${file}: give --agent, --join-token and --code-hash to bootstrap one`, 2);
        const model = opts.model ?? env.MANDATE_MODEL;
        runtime = await AgentRuntime.bootstrap(base, {
          agent_id: agent,
          join_token: joinToken,
          code_hash: codeHash,
          environment: opts.environment ?? env.MANDATE_ENVIRONMENT ?? 'dev',
          ...(model ? { model } : {}),
          runtime: { bridge: 'mandate mcp-proxy', pid: process.pid },
        });
        fs.writeFileSync(file, JSON.stringify(runtime.export()), { mode: 0o600 });
      }
      const subjectToken = opts.subjectToken ?? env.MANDATE_SUBJECT_TOKEN;
      if (!subjectToken) throw new CliError('give --subject-token (or MANDATE_SUBJECT_TOKEN): the person the agent acts for', 2);
      const resource = `${runtime.baseUrl}/mcp/${server}`;
      const scope = opts.scope ?? `tool:${server}/*`;
      let mandate = await runtime.obtainMandate({ subjectToken, scope, resource });
      // Mandates live minutes: re-exchange shortly before expiry; each request gets a fresh proof.
      const current = async () => {
        if (mandate.expiresAt.getTime() - Date.now() < 30_000) mandate = await runtime.obtainMandate({ subjectToken, scope, resource });
        return mandate;
      };
      const upstream = new StreamableHTTPClientTransport(new URL(resource), {
        fetch: async (input, init) => runtime.fetchWith(await current())(input, init),
      });
      const local = new StdioServerTransport();
      // The first message (initialize) must come back with the session id before anything else
      // is sent; after that, messages flow concurrently.
      let opened: Promise<void> | undefined;
      local.onmessage = (message) => {
        const send = () => upstream.send(message);
        const sending = opened ? opened.then(send) : (opened = send());
        sending.catch((error: Error) => process.stderr.write(`mcp-proxy: ${error.message}\n`));
      };
      upstream.onmessage = (message) => {
        local.send(message).catch(() => {});
      };
      upstream.onerror = (error) => process.stderr.write(`mcp-proxy: gateway error: ${error.message}\n`);
      local.onclose = () => {
        upstream.close().finally(() => process.exit(0));
      };
      await upstream.start();
      await local.start();
      process.stderr.write(`mcp-proxy: relaying to ${resource} as ${runtime.spiffeId}\n`);
      await new Promise(() => {});
    });
}
