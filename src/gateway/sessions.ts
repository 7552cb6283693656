import crypto from 'node:crypto';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Principal } from '../tokens/verify-request.ts';

/**
 * Agent sessions (`Mcp-Session-Id`, 128 bits from the CSPRNG), each bound to the principal that
 * opened it: the same agent instance key, agent and person. A session id presented with any
 * other mandate holder is refused; sessions idle too long are closed.
 */
export interface Session {
  id: string;
  server: string;
  transport: StreamableHTTPServerTransport;
  mcp: Server;
  binding: string;
  lastSeen: number;
}

export const bindingOf = (p: Principal) => `${p.claims.cnf.jkt}|${p.agentId}|${p.claims.sub}`;

export class SessionTable {
  readonly #sessions = new Map<string, Session>();
  readonly #idleMs: number;
  readonly #timer: NodeJS.Timeout;

  constructor(idleMs = 30 * 60_000) {
    this.#idleMs = idleMs;
    this.#timer = setInterval(() => this.#sweep(), Math.min(idleMs, 60_000));
    this.#timer.unref();
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** A transport for a new session; it joins the table once the upstream initialize succeeded. */
  open(server: string, mcp: Server, principal: Principal): StreamableHTTPServerTransport {
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => crypto.randomBytes(16).toString('base64url'),
      enableJsonResponse: true,
      onsessioninitialized: (id) => {
        this.#sessions.set(id, { id, server, transport, mcp, binding: bindingOf(principal), lastSeen: Date.now() });
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) this.#sessions.delete(transport.sessionId);
    };
    return transport;
  }

  get(id: string): Session | undefined {
    const session = this.#sessions.get(id);
    if (session) session.lastSeen = Date.now();
    return session;
  }

  async closeAll(): Promise<void> {
    clearInterval(this.#timer);
    await Promise.all([...this.#sessions.values()].map((s) => s.mcp.close().catch(() => {})));
    this.#sessions.clear();
  }

  #sweep(): void {
    const cutoff = Date.now() - this.#idleMs;
    for (const session of this.#sessions.values()) {
      if (session.lastSeen < cutoff) {
        this.#sessions.delete(session.id);
        session.mcp.close().catch(() => {});
      }
    }
  }
}
