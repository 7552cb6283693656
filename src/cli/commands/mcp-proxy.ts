import fs from 'node:fs';
import type { Command } from 'commander';
import { CliError } from '../client.ts';
import { resolveTarget } from '../cli-config.ts';
import { identityPath, readIdentity, writeIdentity } from '../bridge/identity-file.ts';

/**
 * `mandate mcp-proxy <server>`: a local stdio MCP server for clients that only launch stdio
 * servers. It loads (or bootstraps, with a join token) an instance identity, obtains a mandate
 * by token exchange, and relays every message to the gateway with a fresh DPoP proof. Every
 * client request gets an answer (see bridge/refusals.ts); the bridge ends with its stdin or its
 * parent. stdout carries only JSON-RPC; everything else goes to stderr.
 */
export function mcpProxyCommand(program: Command) {
  program
    .command('mcp-proxy <server>')
    .description('stdio bridge to the gateway for MCP clients that only launch stdio servers')
    .option('--identity <file>', 'instance identity file (MANDATE_IDENTITY_FILE; default <state dir>/identities/<agent>@<host>.json)')
    .option('--agent <id>', 'agent id (MANDATE_AGENT); names the default identity file')
    .option('--join-token <token>', 'join token, for the first bootstrap (MANDATE_JOIN_TOKEN)')
    .option('--code-hash <sha256>', 'code hash to attest (MANDATE_CODE_HASH)')
    .option('--environment <env>', 'environment to attest (MANDATE_ENVIRONMENT, default dev)')
    .option('--model <model>', 'model to attest (MANDATE_MODEL)')
    .option('--subject-token <token>', "the person's token the agent acts for (MANDATE_SUBJECT_TOKEN)")
    .option('--scope <scope>', 'scope to ask for (default tool:<server>/*)')
    .action(async (server: string, opts) => {
      const env = process.env;
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const { AgentRuntime } = await import('../../sdk/runtime.ts');
      const base = resolveTarget({ addr: program.opts().addr }).addr;
      const agent: string | undefined = opts.agent ?? env.MANDATE_AGENT;
      const file = identityPath({ explicit: opts.identity ?? env.MANDATE_IDENTITY_FILE, agent, base });
      if (!file) throw new CliError('give --agent (or MANDATE_AGENT), which names the identity file, or --identity <file>', 2);
      if (!opts.identity && !env.MANDATE_IDENTITY_FILE && fs.existsSync('.mandate-identity.json')) {
        log(`mcp-proxy: .mandate-identity.json in the working directory is no longer read (it holds a private key); move it to ${file} or pass --identity`);
      }
      const saved = readIdentity(file, (line) => log(`mcp-proxy: ${line}`));
      let runtime;
      if (saved) runtime = AgentRuntime.restore(saved);
      else {
        const joinToken = opts.joinToken ?? env.MANDATE_JOIN_TOKEN;
        const codeHash = opts.codeHash ?? env.MANDATE_CODE_HASH;
        if (!agent || !joinToken || !codeHash) throw new CliError(`no identity at ${file}: give --agent, --join-token and --code-hash to bootstrap one`, 2);
        const model = opts.model ?? env.MANDATE_MODEL;
        const { networkReason } = await import('../bridge/refusals.ts');
        runtime = await AgentRuntime.bootstrap(base, {
          agent_id: agent,
          join_token: joinToken,
          code_hash: codeHash,
          environment: opts.environment ?? env.MANDATE_ENVIRONMENT ?? 'dev',
          ...(model ? { model } : {}),
          runtime: { bridge: 'mandate mcp-proxy', pid: process.pid },
        }).catch((error: unknown) => {
          const reason = networkReason(error);
          throw reason ? new CliError(`cannot reach Mandate at ${base} (${reason}) to attest a new instance; is \`mandate serve\` running?`) : error;
        });
        writeIdentity(file, runtime.export());
        log(`mcp-proxy: new instance ${runtime.instanceId}; identity saved in ${file} (mode 0600)`);
      }
      const subjectToken = opts.subjectToken ?? env.MANDATE_SUBJECT_TOKEN;
      if (!subjectToken) throw new CliError('give --subject-token (or MANDATE_SUBJECT_TOKEN): the person the agent acts for', 2);
      await bridge(runtime, { server, subjectToken, scope: opts.scope ?? `tool:${server}/*`, log });
    });
}

async function bridge(
  runtime: import('../../sdk/runtime.ts').AgentRuntime,
  input: { server: string; subjectToken: string; scope: string; log: (line: string) => void },
) {
  const { StdioServerTransport } = await import('@modelcontextprotocol/sdk/server/stdio.js');
  const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
  const { relay } = await import('../bridge/relay.ts');
  const { gatewayRefusalOf } = await import('../bridge/refusals.ts');
  const { watchParent } = await import('../bridge/parent-watch.ts');
  const { log } = input;
  const resource = `${runtime.baseUrl}/mcp/${input.server}`;
  type Held = Awaited<ReturnType<typeof runtime.obtainMandate>>;
  let mandate: Held | undefined;
  // Mandates live minutes: exchange again shortly before expiry (or after the gateway says it
  // expired); a refused exchange is the answer to the request that needed it.
  const current = async () => {
    if (!mandate || mandate.expiresAt.getTime() - Date.now() < 30_000) {
      mandate = await runtime.obtainMandate({ subjectToken: input.subjectToken, scope: input.scope, resource });
    }
    return mandate;
  };
  const upstream = new StreamableHTTPClientTransport(new URL(resource), {
    fetch: async (url, init) => {
      const held = await current();
      const response = await runtime.fetchWith(held)(url, init);
      if (!response.ok && init?.method === 'POST') {
        const refusal = await gatewayRefusalOf(response);
        if (refusal) {
          if (refusal.rpc.data?.code === 'ERR_TOKEN_EXPIRED' && mandate === held) mandate = undefined;
          throw refusal;
        }
      }
      return response;
    },
  });
  const local = new StdioServerTransport();
  const relaying = relay({
    local,
    upstream,
    gateway: resource,
    log,
    probe: async () => {
      await fetch(`${runtime.baseUrl}/healthz`, { signal: AbortSignal.timeout(3000) }).then((r) => r.body?.cancel());
    },
  });
  let ending = false;
  const end = (why: string) => {
    if (ending) return;
    ending = true;
    log(`mcp-proxy: ${why}; exiting`);
    relaying.stop();
    const exit = () => process.exit(0);
    setTimeout(exit, 2000).unref();
    upstream.close().then(exit, exit);
  };
  local.onclose = () => end('stdin closed');
  // The SDK's stdio transport does not report the end of stdin: the client hung up.
  process.stdin.once('end', () => end('stdin closed'));
  process.stdin.once('close', () => end('stdin closed'));
  watchParent((pid) => end(`parent process ${pid} ended`));
  try {
    await current();
  } catch (error) {
    log(`mcp-proxy: no mandate yet (${(error as Error).message}); each request will get the reason`);
  }
  await upstream.start();
  await local.start();
  log(`mcp-proxy: relaying to ${resource} as ${runtime.spiffeId} (pid ${process.pid})`);
  await new Promise(() => {});
}
