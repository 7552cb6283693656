import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { instanceChain } from '../audit/writer.ts';
import { type CallDeps, type CallRequest, cardOf } from '../enforcement/call-request.ts';
import { decideHeld } from '../enforcement/hold.ts';
import { a2aPeers } from '../enforcement/kinds.ts';
import { actorOf, recordRefusal, recordResult } from '../enforcement/trail.ts';
import { type ErrorCode, isMandateError } from '../errors.ts';
import { jsonRpcError } from '../errors/render.ts';
import { CATALOGUE } from '../errors/catalogue.ts';
import type { Store } from '../store/store.ts';
import type { TokenContext } from '../tokens/context.ts';
import { calleeOf, type DerivedMandate, deriveMandate } from '../tokens/exchange/derive.ts';
import { delegationPath } from '../tokens/mandate.ts';
import { mandateStanding } from '../tokens/revocation.ts';
import { permits } from '../tokens/scope.ts';
import type { Principal } from '../tokens/verify-request.ts';
import { type A2aMethod, a2aMethodOf, actionOf, argumentsOf, CLEAR_ARGUMENTS, isStreaming } from './methods.ts';
import { methodMetaOf, type PeerSpec } from './peer-spec.ts';

/** The decision path's needs, and the token service's (it mints each call's derived mandate). */
export interface A2aDeps extends CallDeps, Omit<TokenContext, 'cards'> {
  store: Store;
  logger: Pick<Logger, 'warn' | 'error'>;
  /** How often an open stream checks that its mandate still stands (ms). */
  streamCheckMs?: number;
}

/** One JSON-RPC request, as the route hands it over once the caller's mandate verified. */
export interface A2aCall {
  spec: PeerSpec;
  principal: Principal;
  message: { id?: unknown; method?: unknown; params?: unknown };
  headers: IncomingHttpHeaders;
  traceId: string | null;
}

/** What the route answers when the call is not forwarded: a JSON-RPC error with the reason. */
export interface A2aRefusal {
  status: number;
  body: ReturnType<typeof jsonRpcError>;
  retryAfter?: number;
}

/** Headers of the caller's request a peer receives (A2A v1.0 §3.2: version and extensions). */
const PASSED = ['a2a-version', 'a2a-extensions', 'traceparent', 'tracestate'] as const;
/** Responses larger than this are not relayed. */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
/** Header the peer reads its derived mandate from. */
export const DERIVED_MANDATE_HEADER = 'x-mandate';

const idOf = (message: A2aCall['message']): string | number | null =>
  typeof message.id === 'string' || (typeof message.id === 'number' && Number.isInteger(message.id)) ? message.id : null;

const statusOf = (code: ErrorCode) => (CATALOGUE[code] as { status: number }).status;

/**
 * The A2A enforcement point's call path, as an ordered list (the list is the spec):
 *   1. the JSON-RPC method is one Mandate forwards      5. derive the callee's mandate (person → caller → callee),
 *   2. params is an object; arguments = metadata + ids     audited on the callee's chain (`a2a.received`)
 *   3. the decision path (scope `a2a:<peer>/<method>`,   6. forward to the peer; relay its answer (SSE for a stream,
 *      policy, budgets, behavior, approval hold)            cut when the mandate ends)
 *   4. nothing is forwarded unless 3 allowed it          7. audit the result on the caller's chain (`a2a.result`)
 */
export class A2aProxy {
  readonly deps: A2aDeps;
  /** Derived mandates by parent jti and peer, reused while they have a minute left. */
  readonly #derived = new Map<string, DerivedMandate>();

  constructor(deps: A2aDeps) {
    this.deps = deps;
  }

  async call(call: A2aCall, res: ServerResponse): Promise<A2aRefusal | null> {
    const { spec, principal, message } = call;
    const id = idOf(message);
    const method = typeof message.method === 'string' ? a2aMethodOf(message.method) : undefined;
    const shown = typeof message.method === 'string' ? message.method.slice(0, 100) : '';
    const base = { principal, scopeItem: '', traceId: call.traceId, resource: { type: 'peer' as const, peer: spec.name, highImpact: false } };
    const refuse = async (action: string, label: string, code: ErrorCode, text: string): Promise<A2aRefusal> => {
      await recordRefusal(this.deps, { ...base, action, label }, code, text);
      return { status: statusOf(code), body: jsonRpcError(code, text, id) };
    };
    if (!method) return refuse(`a2a:${JSON.stringify(shown).slice(1, -1)}`, `${spec.name} ${JSON.stringify(shown).slice(1, -1)}`, 'ERR_A2A_METHOD_UNSUPPORTED', `Mandate does not forward ${shown || 'this method'} to A2A peers`);
    const params = message.params;
    if (typeof params !== 'object' || params === null || Array.isArray(params)) {
      return refuse(actionOf(method), `${spec.name} ${method}`, 'ERR_A2A_PARAMS', `${method} needs a params object`);
    }
    // A message may set a push-notification webhook inline (the peer would call that URL itself):
    // it needs the same right as setting one on its own.
    const pushItem = `a2a:${spec.name}/tasks/pushNotificationConfig/set`;
    if (setsPushConfig(params as Record<string, unknown>) && !permits(principal.scope, pushItem)) {
      return refuse(actionOf(method), `${spec.name} ${method}`, 'ERR_SCOPE_NOT_GRANTED', `a message that sets a push-notification webhook needs ${pushItem}`);
    }
    const meta = methodMetaOf(spec, method);
    const args = argumentsOf(params as Record<string, unknown>);
    const request: CallRequest = {
      principal,
      card: await cardOf(this.deps, principal.agentId),
      action: actionOf(method),
      scopeItem: `a2a:${spec.name}/${method}`,
      resource: { type: 'peer', peer: spec.name, highImpact: meta.high_impact, cost: meta.cost, classification: meta.classification },
      label: `${spec.name} ${method}`,
      args,
      // Record constraints see every field of the call, wherever it sits (metadata of the request
      // and of the message, data parts): a value smuggled into one the callee reads is checked too.
      callArguments: { ...args, params },
      allowArgs: CLEAR_ARGUMENTS,
      destination: new URL(spec.url).host,
      traceId: call.traceId,
    };
    const outcome = await decideHeld(this.deps, a2aPeers, request);
    if (!outcome.allowed) {
      const held = outcome.code === 'ERR_APPROVAL_REQUIRED' && outcome.approval;
      const body = jsonRpcError(outcome.code, outcome.message, id);
      const data = { ...body.error.data, ...(outcome.approval ? { approval: outcome.approval } : {}), ...(outcome.retryAfter !== undefined ? { retryAfter: outcome.retryAfter } : {}) };
      return {
        status: outcome.status ?? (held ? 403 : statusOf(outcome.code)),
        body: { ...body, error: { ...body.error, data } as typeof body.error },
        ...(outcome.retryAfter !== undefined ? { retryAfter: outcome.retryAfter } : {}),
      };
    }
    const fail = async (code: ErrorCode, text: string): Promise<A2aRefusal> => {
      await recordResult(this.deps, request, outcome.callId, { ok: false, bytes: 0, error: code });
      return { status: statusOf(code), body: jsonRpcError(code, text, id) };
    };
    let derived: DerivedMandate;
    try {
      derived = await this.#derive(spec, principal, method, outcome.callId, call.traceId);
    } catch (error) {
      if (!isMandateError(error)) throw error;
      return fail(error.code, error.expose ? error.message : `no mandate could be derived for ${spec.name}`);
    }
    const abort = new AbortController();
    const timer = isStreaming(method) ? undefined : setTimeout(() => abort.abort(), spec.timeout_ms);
    let upstream: Response;
    try {
      upstream = await fetch(spec.url, {
        method: 'POST',
        headers: this.#headers(call.headers, derived.token, isStreaming(method)),
        body: JSON.stringify(message),
        signal: abort.signal,
        redirect: 'manual',
      });
    } catch (error) {
      clearTimeout(timer);
      this.deps.logger.warn({ peer: spec.name, err: (error as Error).message }, 'A2A peer not reachable');
      return fail(abort.signal.aborted ? 'ERR_UPSTREAM_TIMEOUT' : 'ERR_UPSTREAM_UNAVAILABLE', `the A2A peer ${spec.name} could not be reached`);
    }
    const type = upstream.headers.get('content-type') ?? '';
    if (isStreaming(method) && upstream.ok && type.startsWith('text/event-stream')) {
      await this.#relayStream(upstream, abort, res, { spec, request, callId: outcome.callId, derived, id, legacy: message.method === 'message/stream' || message.method === 'tasks/resubscribe' });
      return null;
    }
    let body: Buffer;
    try {
      body = await readLimited(upstream, MAX_RESPONSE_BYTES);
    } catch {
      clearTimeout(timer);
      abort.abort();
      return fail(abort.signal.aborted && !isStreaming(method) ? 'ERR_UPSTREAM_TIMEOUT' : 'ERR_UPSTREAM_TOO_LARGE', `the A2A peer ${spec.name} answered past Mandate's limits`);
    }
    clearTimeout(timer);
    const failed = upstream.status >= 400 || /"error"\s*:/.test(body.subarray(0, 200).toString('utf8'));
    await recordResult(this.deps, request, outcome.callId, { ok: !failed, bytes: body.length, ...(upstream.status >= 400 ? { error: 'ERR_UPSTREAM_HTTP_STATUS', upstreamStatus: upstream.status } : {}) });
    res.writeHead(upstream.status, { 'content-type': type.startsWith('application/json') ? type : 'application/json', 'content-length': body.length, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    res.end(body);
    return null;
  }

  #headers(incoming: IncomingHttpHeaders, token: string, stream: boolean): Record<string, string> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: stream ? 'text/event-stream' : 'application/json', [DERIVED_MANDATE_HEADER]: token };
    for (const name of PASSED) {
      const value = incoming[name];
      if (typeof value === 'string' && !/[\r\n]/.test(value)) headers[name] = value.slice(0, 1024);
    }
    return headers;
  }

  /** The callee's mandate for this call, and the hop on the callee's chain. */
  async #derive(spec: PeerSpec, principal: Principal, method: A2aMethod, callId: string, traceId: string | null): Promise<DerivedMandate> {
    const now = this.deps.now();
    const key = `${principal.claims.jti} ${spec.name}`;
    const cached = this.#derived.get(key);
    const fresh =
      cached !== undefined &&
      cached.claims.exp * 1000 - now.getTime() >= 60_000 &&
      cached.agent.id === spec.agent &&
      (spec.instance === undefined || cached.instance.id === spec.instance) &&
      // The callee's instance or agent may have ended since (revoking what was derived for it):
      // read through the standing cache the change feed keeps current, as a presented mandate is.
      (await this.#stands(cached.claims.jti, cached.claims.exp, now));
    let derived: DerivedMandate;
    if (fresh) derived = cached;
    else {
      derived = await deriveMandate(this.deps, principal.claims, await calleeOf(this.deps, spec.agent, spec.instance), now);
      if (this.#derived.size >= 10_000) this.#derived.clear();
      this.#derived.set(key, derived);
    }
    const claims = derived.claims;
    await this.deps.audit.append({
      chain: instanceChain(derived.instance.id),
      type: 'a2a.received',
      actor: { instance: derived.instance.id, agent: derived.agent.id, person: claims.sub_kind === 'person' ? claims.sub : null, delegation: delegationPath(claims) },
      action: actionOf(method),
      resource: `${spec.name} ${method}`,
      decision: 'allow',
      status: 'success',
      trace_id: traceId,
      reasons: { scope: claims.scope, budget: { limit: claims.budget }, message: `called by ${actorOf(principal).instance} through Mandate; derived mandate ${claims.jti} of ${principal.claims.jti}` },
      data: { resources: [callId, claims.jti] },
    });
    return derived;
  }

  #stands(jti: string, exp: number, now: Date): Promise<boolean> {
    const read = () => mandateStanding(this.deps.store.db, jti);
    return this.deps.standing ? this.deps.standing.isLive(jti, exp, now, read) : read().then((standing) => standing === 'live');
  }

  /**
   * Relays the peer's Server-Sent Events to the caller while the derived mandate stands: checked
   * every `streamCheckMs`, so revoking the caller's mandate (which revokes the derived one, as its
   * child) cuts the stream mid-task with a last JSON-RPC error event; the peer is asked to cancel
   * the task the stream was about, and its response is abandoned.
   */
  async #relayStream(
    upstream: Response,
    abort: AbortController,
    res: ServerResponse,
    hop: { spec: PeerSpec; request: CallRequest; callId: string; derived: DerivedMandate; id: string | number | null; legacy: boolean },
  ): Promise<void> {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', connection: 'keep-alive' });
    res.flushHeaders();
    let bytes = 0;
    let ended: { code: ErrorCode; message: string } | null = null;
    const cut = (code: ErrorCode, message: string) => {
      if (ended) return;
      ended = { code, message };
      abort.abort();
    };
    const check = setInterval(() => {
      const expired = hop.derived.claims.exp * 1000 <= this.deps.now().getTime();
      if (expired) return cut('ERR_TOKEN_EXPIRED', 'the mandate expired: the stream is closed');
      mandateStanding(this.deps.store.db, hop.derived.claims.jti)
        .then((standing) => (standing === 'live' ? undefined : cut('ERR_TOKEN_REVOKED', 'the mandate was revoked: the stream is closed')))
        .catch(() => cut('ERR_STORE_UNAVAILABLE', 'the mandate could not be checked: the stream is closed'));
    }, this.deps.streamCheckMs ?? 250);
    res.once('close', () => {
      if (!res.writableFinished) cut('ERR_BODY_INCOMPLETE', 'the caller closed the stream');
    });
    const task = new TaskOfStream();
    try {
      for await (const chunk of upstream.body as unknown as AsyncIterable<Uint8Array>) {
        if (ended) break;
        bytes += chunk.length;
        task.read(chunk);
        res.write(chunk);
      }
    } catch {
      // Aborted (cut) or the peer failed mid-stream: told below.
    } finally {
      clearInterval(check);
    }
    const end = ended as { code: ErrorCode; message: string } | null;
    if (end && !res.destroyed) res.write(`data: ${JSON.stringify(jsonRpcError(end.code, end.message, hop.id))}\n\n`);
    res.end();
    // A caller that leaves a stream may resubscribe (the task goes on); a mandate that ended may not.
    if (end && end.code !== 'ERR_BODY_INCOMPLETE' && task.id) await this.#cancel(hop.spec, task.id, hop.legacy);
    await recordResult(this.deps, hop.request, hop.callId, { ok: !end, bytes, ...(end ? { error: end.code } : {}) }).catch((error: Error) =>
      this.deps.logger.warn({ err: error.message }, 'an A2A stream result could not be audited'),
    );
  }

  /** Asks the peer to cancel a task whose stream was cut (best effort: the peer may refuse or be gone). */
  async #cancel(spec: PeerSpec, taskId: string, legacy: boolean): Promise<void> {
    const method = legacy ? 'tasks/cancel' : 'CancelTask';
    await fetch(spec.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', 'a2a-version': legacy ? '0.3' : '1.0' },
      body: JSON.stringify({ jsonrpc: '2.0', id: `mandate-cut-${taskId}`, method, params: { id: taskId } }),
      signal: AbortSignal.timeout(Math.min(spec.timeout_ms, 5_000)),
    })
      .then((response) => response.body?.cancel())
      .catch((error: Error) => this.deps.logger.warn({ peer: spec.name, err: error.message }, 'a cut task could not be cancelled at the A2A peer'));
  }
}

/**
 * The task a stream of A2A events is about, from its first events (v1.0 `task` / `statusUpdate` /
 * `artifactUpdate`, v0.3 `kind: "task"` / `taskId`); only the first 64 KiB are looked at.
 */
class TaskOfStream {
  id: string | undefined;
  #text = '';
  readonly #decoder = new TextDecoder();

  read(chunk: Uint8Array): void {
    if (this.id !== undefined || this.#text.length > 64 * 1024) return;
    this.#text += this.#decoder.decode(chunk, { stream: true });
    const events = this.#text.split(/\r?\n\r?\n/);
    for (const event of events.slice(0, -1)) {
      const data = event
        .split(/\r?\n/)
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trimStart())
        .join('\n');
      this.id = taskIdOfEvent(data);
      if (this.id) return;
    }
  }
}

function taskIdOfEvent(data: string): string | undefined {
  let result: Record<string, Record<string, unknown> | undefined>;
  try {
    result = (JSON.parse(data) as { result?: typeof result }).result ?? {};
  } catch {
    return undefined;
  }
  const legacy = result as Record<string, unknown>;
  const candidates = [result.task?.id, result.statusUpdate?.taskId, result.artifactUpdate?.taskId, legacy.kind === 'task' ? legacy.id : legacy.taskId];
  return candidates.find((c): c is string => typeof c === 'string' && c.length > 0 && c.length <= 256);
}

/** A send whose configuration names a push-notification webhook (v1.0 `taskPushNotificationConfig`, v0.3 `pushNotificationConfig`). */
function setsPushConfig(params: Record<string, unknown>): boolean {
  const configuration = params.configuration;
  if (typeof configuration !== 'object' || configuration === null) return false;
  const { taskPushNotificationConfig: v1, pushNotificationConfig: v03 } = configuration as Record<string, unknown>;
  return (v1 !== undefined && v1 !== null) || (v03 !== undefined && v03 !== null);
}

/** A response body, refused past `limit` bytes. */
async function readLimited(response: Response, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  if (!response.body) return Buffer.alloc(0);
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > limit) throw new Error('too large');
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks, size);
}
