import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { type Tool, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import { fillTemplate } from '../broker/secrets.ts';
import { MandateError } from '../errors.ts';
import type { MasterKey } from '../identity/master-key.ts';
import type { Store } from '../store/store.ts';
import { ScrubbedTransport } from './scrubbed-transport.ts';
import type { ServerSpec } from './server-spec.ts';

/**
 * One pooled MCP client session per upstream server, shared by every agent session. Credentials
 * are filled from the secret store when the connection opens (env for stdio, headers for HTTP)
 * and never leave the gateway. A connection that closes (a crashed stdio server) is dropped and
 * opened again on next use.
 */
export interface Upstream {
  readonly spec: ServerSpec;
  readonly client: Client;
  /** Clear secret values injected into this connection: scrubbed from every message it sends (`ScrubbedTransport`). */
  readonly secrets: readonly string[];
  tools(): Promise<Tool[]>;
}

export interface UpstreamDeps {
  store: Store;
  masterKey: MasterKey;
  logger: Logger;
  /** Called with the fresh list each time the upstream's tools are read (pinning hooks in here). */
  onTools?: (server: string, tools: Tool[], secrets: readonly string[]) => Promise<void>;
}

export const upstreamUnavailable = (server: string) =>
  new MandateError('ERR_UPSTREAM_UNAVAILABLE', `upstream server ${server} is unavailable`);

export class UpstreamPool {
  readonly #deps: UpstreamDeps;
  readonly #open = new Map<string, Promise<Upstream>>();

  constructor(deps: UpstreamDeps) {
    this.#deps = deps;
  }

  get(spec: ServerSpec): Promise<Upstream> {
    let pending = this.#open.get(spec.name);
    if (!pending) {
      pending = this.#connect(spec);
      this.#open.set(spec.name, pending);
      pending.catch(() => this.#open.delete(spec.name));
    }
    return pending;
  }

  /** Forget a server's connection (spec changed or removed). */
  async drop(name: string): Promise<void> {
    const pending = this.#open.get(name);
    this.#open.delete(name);
    await pending?.then((u) => u.client.close()).catch(() => {});
  }

  async close(): Promise<void> {
    await Promise.all([...this.#open.keys()].map((name) => this.drop(name)));
  }

  async #connect(spec: ServerSpec): Promise<Upstream> {
    const { store, masterKey, logger } = this.#deps;
    const secrets: string[] = [];
    const fill = async (values: Record<string, string>) => {
      const out: Record<string, string> = {};
      for (const [key, template] of Object.entries(values)) {
        const filled = await fillTemplate(store.db, masterKey, template, null);
        secrets.push(...filled.secrets);
        out[key] = filled.text;
      }
      return out;
    };
    let transport: Transport;
    if (spec.transport === 'stdio') {
      const [command, ...args] = spec.command!;
      const stdio = new StdioClientTransport({ command: command!, args, env: { ...getDefaultEnvironment(), ...(await fill(spec.env)) }, stderr: 'pipe' });
      stdio.stderr?.on('data', () => {});
      transport = stdio;
    } else {
      transport = new StreamableHTTPClientTransport(new URL(spec.url!), { requestInit: { headers: await fill(spec.headers), redirect: 'error' } });
    }
    const client = new Client({ name: 'mandate-gateway', version: '0.1.0' }, { capabilities: {} });
    let tools: Promise<Tool[]> | undefined;
    const readTools = async () => {
      const listed: Tool[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.listTools(cursor ? { cursor } : {}, { timeout: spec.timeout_ms });
        listed.push(...page.tools);
        cursor = page.nextCursor;
      } while (cursor);
      await this.#deps.onTools?.(spec.name, listed, secrets);
      return listed;
    };
    client.onclose = () => {
      logger.warn({ server: spec.name }, 'upstream connection closed; it reopens on next use');
      if (this.#open.get(spec.name) === current) this.#open.delete(spec.name);
    };
    client.onerror = (err) => logger.warn({ server: spec.name, err: err.message }, 'upstream error');
    const current = this.#open.get(spec.name);
    try {
      // Starting a server (a cold `npx`, a container) may take longer than one call may.
      await client.connect(new ScrubbedTransport(transport, secrets), { timeout: Math.max(spec.timeout_ms, 20_000) });
    } catch (error) {
      logger.warn({ server: spec.name, err: (error as Error).message }, 'upstream connection failed');
      await client.close().catch(() => {});
      throw upstreamUnavailable(spec.name);
    }
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
      tools = readTools();
      await tools.catch(() => {});
    });
    return {
      spec,
      client,
      secrets,
      tools: () => {
        tools ??= readTools();
        tools.catch(() => {
          tools = undefined;
        });
        return tools;
      },
    };
  }
}
