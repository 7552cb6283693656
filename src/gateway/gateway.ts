import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import type { Change } from '../cluster/changes.ts';
import { type FeedState, FollowedCache } from '../cluster/followed-cache.ts';
import { type CallDeps, type CallOutcome, type CallRequest, cardOf } from '../enforcement/call-request.ts';
import { recordRefusal, recordResult, traceIdOf } from '../enforcement/trail.ts';
import { decideHeld } from '../enforcement/hold.ts';
import { mcpTools } from '../enforcement/kinds.ts';
import { identifierProblem } from '../validation.ts';
import { type ErrorCode, isMandateError, MandateError } from '../errors.ts';
import type { MasterKey } from '../identity/master-key.ts';
import type { Store } from '../store/store.ts';
import { endSpan, inSpan, SpanKind, startTrace, type Traced, traceparentFor } from '../telemetry/trace.ts';
import { permits } from '../tokens/scope.ts';
import type { Principal } from '../tokens/verify-request.ts';
import { checkArguments } from './arguments.ts';
import { loadPins, type Pin, reconcilePins } from './pins.ts';
import { findServer, type ServerSpec, toolMetaOf } from './server-spec.ts';
import { type Upstream, UpstreamPool } from './upstream.ts';

export interface GatewayDeps extends CallDeps {
  store: Store;
  masterKey: MasterKey;
  logger: Logger;
  /** Tells the other replicas when this one (re)pinned a server's tools. */
  changes?: { publish(change: Change): Promise<void> } & FeedState;
}

interface UpstreamContext {
  spec: ServerSpec;
  upstream: Upstream;
  tools: Tool[];
  pins: Map<string, Pin>;
}

/** What the agent sees when a call is refused: the reason, never upstream details. */
const refusal = (message: string): CallToolResult => ({ content: [{ type: 'text', text: `Mandate refused this call: ${message}` }], isError: true });

/**
 * A governed refusal: the reason, plus in `_meta` what a program needs to act on it (when to
 * retry, which approval holds the call).
 */
function refusalOf(outcome: Extract<CallOutcome, { allowed: false }>): CallToolResult {
  const held = outcome.code === 'ERR_APPROVAL_REQUIRED' && outcome.approval;
  const text = held ? `Mandate is holding this call for a person's approval: ${outcome.message}` : `Mandate refused this call: ${outcome.message}`;
  const meta = {
    ...(outcome.retryAfter !== undefined ? { retryAfter: outcome.retryAfter } : {}),
    ...(outcome.field !== undefined ? { field: outcome.field } : {}),
    ...(outcome.approval ? { approval: outcome.approval } : {}),
  };
  return {
    content: [{ type: 'text', text }],
    isError: true,
    ...(Object.keys(meta).length > 0 ? { _meta: { 'mandate/refusal': { code: outcome.code, ...meta } } } : {}),
  };
}

/**
 * The agent learns what its mandate has left; when this call spent the last unit, it is also told,
 * in words, that the mandate has ended (its next request would only see "revoked").
 */
function withBudget(result: CallToolResult, budget: NonNullable<Extract<CallOutcome, { allowed: true }>['budget']>): CallToolResult {
  const ended = budget.limit > 0 && budget.remaining <= 0;
  const notice = { type: 'text' as const, text: `Mandate: this call spent the last of the mandate's budget (${budget.spent} of ${budget.limit}); the mandate has ended. Obtain a new mandate to continue.` };
  return { ...result, ...(ended ? { content: [...result.content, notice] } : {}), _meta: { ...result._meta, 'mandate/budget': budget } };
}

/**
 * The MCP gateway's core: pooled upstream sessions, pinned tool definitions, the filtered tool
 * list, and the `tools/call` path (pin → arguments → the decision path, with the approval hold
 * → forward → audit the result), the decision path shared with the broker (`DECISION_PATH` in
 * src/enforcement/pipeline.ts). Upstream messages arrive scrubbed (`ScrubbedTransport`).
 */
export class Gateway {
  readonly deps: GatewayDeps;
  readonly pool: UpstreamPool;
  readonly #pins = new Map<string, Map<string, Pin>>();
  /** Bumped on every invalidation: pins read before one are not kept. */
  #pinsEpoch = 0;
  /** Server specs by name (null: no such server), kept current by the change feed. */
  readonly #specs: FollowedCache<ServerSpec | null> | undefined;

  constructor(deps: GatewayDeps) {
    this.deps = deps;
    this.#specs = deps.changes ? new FollowedCache(deps.changes) : undefined;
    this.pool = new UpstreamPool({
      store: deps.store,
      masterKey: deps.masterKey,
      logger: deps.logger,
      onTools: async (server, tools, secrets) => {
        this.#pins.set(server, await reconcilePins(deps.store.db, deps.audit, server, tools, deps.now(), secrets));
        // A tool this replica pinned or quarantined: the others re-read the pins.
        await deps.changes?.publish({ kind: 'pins.changed', server });
      },
    });
  }

  /** The server's spec, or undefined when there is none. */
  async spec(name: string): Promise<ServerSpec | undefined> {
    const read = async () => (await findServer(this.deps.store.db, name)) ?? null;
    return (await (this.#specs ? this.#specs.get(name, read) : read())) ?? undefined;
  }

  /** A server was added, changed or removed: its spec, pins and pooled session go. */
  async forgetServer(name?: string): Promise<void> {
    if (name === undefined) {
      this.#specs?.clear();
      this.invalidatePins();
      return;
    }
    this.#specs?.delete(name);
    this.invalidatePins(name);
    await this.pool.drop(name);
  }

  async #upstream(name: string): Promise<UpstreamContext> {
    const spec = await this.spec(name);
    if (!spec) throw new MandateError('ERR_SERVER_NOT_FOUND', `server ${name} not found`);
    const upstream = await this.pool.get(spec);
    const tools = await upstream.tools();
    let pins = this.#pins.get(name);
    if (!pins) {
      const epoch = this.#pinsEpoch;
      pins = await loadPins(this.deps.store.db, name);
      if (epoch === this.#pinsEpoch) this.#pins.set(name, pins);
    }
    return { spec, upstream, tools, pins };
  }

  /** Forget cached pins (an admin approved a definition, another replica saw a change); all without a name. */
  invalidatePins(server?: string): void {
    this.#pinsEpoch++;
    if (server === undefined) this.#pins.clear();
    else this.#pins.delete(server);
  }

  /** Tools the mandate covers, pinned and approved, and that policy would let it list. */
  async visibleTools(server: string, principal: Principal): Promise<Tool[]> {
    const { tools, pins } = await this.#upstream(server);
    return tools.filter((tool) => pins.get(tool.name)?.status === 'approved' && permits(principal.scope, `tool:${server}/${tool.name}`));
  }

  /** Resources, prompts and completions (`method`): only for a mandate that covers the whole server; a refusal is audited. */
  async requireWholeServer(server: string, principal: Principal, method: string): Promise<Upstream> {
    if (!principal.scope.some((s) => s.kind === 'tool' && s.server === server && s.tool === '*')) {
      const refused = new MandateError('ERR_SCOPE_NOT_GRANTED', `resources and prompts of ${server} need a mandate for tool:${server}/*`);
      const request = { principal, action: method, scopeItem: `tool:${server}/*`, resource: { type: 'server' as const, server }, label: `${server} ${method}` };
      await recordRefusal(this.deps, request, refused.code, refused.message);
      throw refused;
    }
    return (await this.#upstream(server)).upstream;
  }

  /** A governed `tools/call`, in a span whose parent is the agent's `traceparent` (tracing on). */
  async callTool(server: string, principal: Principal, name: string, args: Record<string, unknown>, traceparent?: string): Promise<CallToolResult> {
    const traced = startTrace('mcp tools/call', traceparent, {
      'mandate.enforcement_point': 'gateway',
      'mandate.agent': principal.agentId,
      'mandate.instance': principal.instanceId,
      'mcp.server': server,
      'mcp.tool': name,
    });
    if (!traced) return this.#callTool(server, principal, name, args, traceparent, undefined);
    try {
      const result = await this.#callTool(server, principal, name, args, traceparent, traced);
      endSpan(traced);
      return result;
    } catch (error) {
      endSpan(traced, { error: 'the gateway failed' });
      throw error;
    }
  }

  async #callTool(server: string, principal: Principal, name: string, args: Record<string, unknown>, traceparent: string | undefined, trace: Traced | undefined): Promise<CallToolResult> {
    const traceId = traceIdOf(traceparent);
    const base = { principal, action: 'tools/call' as const, scopeItem: `tool:${server}/${name}`, label: `${server}/${name}`, args, callArguments: args, traceId, trace };
    // A tool or server name in another spelling is refused before any upstream is reached.
    const problem = identifierProblem(name) ?? identifierProblem(server);
    if (problem) {
      const message = `the ${identifierProblem(name) ? 'tool' : 'server'} name ${problem}; identifiers are refused unless in their canonical form`;
      const label = JSON.stringify(`${server}/${name}`).slice(1, -1);
      await recordRefusal(this.deps, { ...base, label, resource: { type: 'server', server } }, 'ERR_IDENTIFIER_NOT_CANONICAL', message);
      return { ...refusal(message), _meta: { 'mandate/refusal': { code: 'ERR_IDENTIFIER_NOT_CANONICAL' } } };
    }
    let context: UpstreamContext;
    try {
      context = await this.#upstream(server);
    } catch (error) {
      this.deps.logger.warn({ server, err: (error as Error).message }, 'upstream not usable for a call');
      const code = isMandateError(error) ? error.code : 'ERR_UPSTREAM_UNAVAILABLE';
      await recordRefusal(this.deps, { ...base, resource: { type: 'server', server } }, code, 'upstream unavailable');
      return refusal(`the ${server} server is unavailable right now`);
    }
    const { spec, upstream, pins } = context;
    const pin = pins.get(name);
    const meta = toolMetaOf(spec, name);
    const resource = { type: 'tool' as const, server, name, highImpact: meta.high_impact, cost: meta.cost, classification: meta.classification };
    const refuse = async (code: ErrorCode, message: string) => {
      await recordRefusal(this.deps, { ...base, resource }, code, message);
      return refusal(message);
    };
    if (!pin) return refuse('ERR_TOOL_UNKNOWN', `there is no tool ${name} on ${server}`);
    if (pin.status !== 'approved') return refuse('ERR_TOOL_QUARANTINED', `tool ${name} changed upstream and is quarantined until an admin approves it`);
    try {
      checkArguments(pin, args);
    } catch (error) {
      return refuse(isMandateError(error) ? error.code : 'ERR_TOOL_ARGUMENTS', (error as Error).message);
    }
    const card = await cardOf(this.deps, principal.agentId);
    const request: CallRequest = { ...base, card, resource };
    const outcome = await decideHeld(this.deps, mcpTools, request);
    if (!outcome.allowed) return refusalOf(outcome);

    let result: CallToolResult;
    try {
      // The upstream joins the trace through `params._meta.traceparent` (MCP's place for it, on stdio and HTTP alike).
      result = await inSpan(
        trace,
        'upstream tools/call',
        async (upstreamSpan) => {
          const parent = traceparentFor(upstreamSpan, traceparent);
          return (await upstream.client.callTool({ name, arguments: args, ...(parent ? { _meta: { traceparent: parent } } : {}) }, undefined, { timeout: spec.timeout_ms })) as CallToolResult;
        },
        { 'mcp.server': server, 'mcp.tool': name },
        SpanKind.CLIENT,
      );
    } catch (error) {
      const code = (error as { code?: unknown }).code === -32001 ? 'ERR_UPSTREAM_TIMEOUT' : 'ERR_UPSTREAM_FAILED';
      await recordResult(this.deps, request, outcome.callId, { ok: false, bytes: 0, error: code });
      return { content: [{ type: 'text', text: `The ${server} server failed to answer this call (${code}).` }], isError: true };
    }
    // Already scrubbed: every message of the upstream passes `ScrubbedTransport` first.
    await recordResult(this.deps, request, outcome.callId, { ok: !result.isError, bytes: Buffer.byteLength(JSON.stringify(result)) });
    return outcome.budget ? withBudget(result, outcome.budget) : result;
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
