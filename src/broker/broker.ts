import crypto from 'node:crypto';
import type http from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { LookupFunction } from 'node:net';
import type { Logger } from 'pino';
import { scrubSecrets } from '../audit/redact.ts';
import { decideCall } from '../enforcement/call.ts';
import { type CallDeps, type CallRequest, cardOf } from '../enforcement/call-request.ts';
import { recordRefusal, recordResult } from '../enforcement/trail.ts';
import { isMandateError, MandateError } from '../errors.ts';
import { type FeedState, FollowedCache } from '../cluster/followed-cache.ts';
import type { MasterKey } from '../identity/master-key.ts';
import type { Store } from '../store/store.ts';
import { endSpan, inSpan, SpanKind, startTrace, type Traced, traceparentFor } from '../telemetry/trace.ts';
import type { Principal } from '../tokens/verify-request.ts';
import { checkBaseUrl } from './address-guard.ts';
import { pinnedLookup, type Resolver } from '../net/addresses.ts';
import { type ConnectionSpec, caseInsensitive, findConnection, compileHttp, endpointMetaOf, type HttpConnection, type HttpConnectionSpec, ruleMatches } from './connection-spec.ts';
import { DatabaseBroker } from './postgres/database-broker.ts';
import { BrokerDenial } from './denial.ts';
import { brokerArguments } from './call-arguments.ts';
import { recordsOf } from '../tokens/records.ts';
import { connectionAgent, forward, upstreamError, type UpstreamResponse } from './forward.ts';
import { forwardedRequestHeaders, returnedResponseHeaders } from './headers.ts';
import { fillInjection, injectedHeaderNames, injectQuery } from './injection.ts';
import { type SealedSecrets, sealedFrom } from './secrets.ts';
import { type BrokerPath, checkQuery, normalizeBrokerPath } from './request-path.ts';
import { decodeContent, scrubBody } from './response-body.ts';

export interface BrokerDeps extends CallDeps {
  store: Store;
  masterKey: MasterKey;
  logger: Logger;
  /** Name resolution for connections whose base URL names a host (tests substitute one). */
  resolver?: Resolver;
  /** The change feed; present, connection specs and sealed secrets are kept in memory while it is synchronized. */
  changes?: FeedState | undefined;
}

/** One call as the broker's route hands it over, after the mandate and its DPoP proof verified. */
export interface BrokerCall {
  spec: ConnectionSpec;
  principal: Principal;
  method: string;
  /** What follows `/broker/<connection>` in the request target, without the query. */
  rawPath: string;
  query: string | null;
  headers: IncomingHttpHeaders;
  readBody(limit: number): Promise<Buffer>;
  /** `<issuer>/broker/<connection>`: where same-upstream redirects are pointed back to. */
  brokerUrl: string;
  traceId: string | null;
}

export interface BrokerReply {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

/** Methods the broker forwards. TRACE would echo the injected credential; CONNECT would tunnel past it. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

interface Upstream {
  key: string;
  connection: HttpConnection;
  base: URL;
  agent: http.Agent;
  lookup: LookupFunction;
}

/**
 * The credential broker's call path, as an ordered list of checks (the list is the spec):
 *   1. method is one the broker forwards            6. decideCall: the decision path shared with the gateway
 *   2. path normalized; traversal spellings refused 7. inject the credential for this call's person
 *   3. the connection's allow rules match            8. forward to the pinned, checked address; no redirects
 *   4. headers stripped; CR/LF refused               9. strip credential headers; scrub secrets from headers and body
 *   5. body read within the connection's limit      10. audit the result (status, size)
 * A refusal before step 6 is audited with recordRefusal; a failure after it with recordResult.
 */
export class Broker {
  readonly deps: BrokerDeps;
  readonly databases: DatabaseBroker;
  readonly #upstreams = new Map<string, Upstream>();
  /**
   * Connection specs and secrets as stored, followed by `connection.changed` and `secret.changed`.
   * Secrets are kept SEALED (the stored ciphertext, never a clear value): each call unseals what it
   * injects, so no credential outlives the call in memory (AES-GCM on a few bytes costs microseconds).
   */
  readonly #specs: FollowedCache<ConnectionSpec | undefined> | undefined;
  readonly #sealed: FollowedCache<string | undefined> | undefined;
  readonly #secrets: SealedSecrets;

  constructor(deps: BrokerDeps) {
    this.deps = deps;
    this.databases = new DatabaseBroker(deps);
    this.#specs = deps.changes ? new FollowedCache(deps.changes) : undefined;
    this.#sealed = deps.changes ? new FollowedCache(deps.changes) : undefined;
    const read = sealedFrom(deps.store.db);
    this.#secrets = this.#sealed ? (name) => this.#sealed!.get(name, () => read(name)) : read;
  }

  /** A connection's stored spec, or undefined when there is none. */
  findConnection(name: string): Promise<ConnectionSpec | undefined> {
    const read = () => findConnection(this.deps.store.db, name);
    return this.#specs ? this.#specs.get(name, read) : read();
  }

  /** A connection or secret changed (on any replica), or the replica resynchronizes (no name). */
  forgetStored(change: { connection?: string; secret?: string } | 'all'): void {
    if (change === 'all') {
      this.#specs?.clear();
      this.#sealed?.clear();
      return;
    }
    if (change.connection !== undefined) this.#specs?.delete(change.connection);
    if (change.secret !== undefined) this.#sealed?.delete(change.secret);
  }

  /** A brokered call, in a span whose parent is the agent's `traceparent` (tracing on). */
  async call(call: BrokerCall): Promise<BrokerReply> {
    const traceparent = typeof call.headers.traceparent === 'string' ? call.headers.traceparent : undefined;
    const traced = startTrace(`broker ${call.method.slice(0, 20)}`, traceparent, {
      'mandate.enforcement_point': 'broker',
      'mandate.agent': call.principal.agentId,
      'mandate.instance': call.principal.instanceId,
      'mandate.connection': call.spec.name,
    });
    if (!traced) return this.#call(call, undefined);
    try {
      const reply = await this.#call(call, traced);
      traced.span.setAttribute('http.response.status_code', reply.status);
      endSpan(traced);
      return reply;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      endSpan(traced, typeof code === 'string' && code.startsWith('ERR_') ? { code } : { error: 'the broker failed' });
      throw error;
    }
  }

  async #call(call: BrokerCall, trace: Traced | undefined): Promise<BrokerReply> {
    const { spec, principal, method } = call;
    const label = `${spec.name} ${method} ${call.rawPath.slice(0, 300) || '/'}`;
    const refusalBase = { principal, action: 'http:request' as const, httpMethod: method, scopeItem: '', label, traceId: call.traceId, trace, resource: { type: 'connection' as const, connection: spec.name } };
    let path: BrokerPath;
    let upstream: Upstream | undefined;
    let headers: http.OutgoingHttpHeaders = {};
    let query = '';
    try {
      if (!METHODS.has(method)) throw new MandateError('ERR_BROKER_METHOD', `the broker does not forward ${method.slice(0, 20)} requests`);
      path = normalizeBrokerPath(call.rawPath, { caseInsensitive: caseInsensitive(spec) });
      if (spec.type === 'http') {
        upstream = this.#upstream(spec);
        if (!upstream.connection.allow.some((rule) => ruleMatches(rule, method, path.segments))) {
          throw new MandateError('ERR_BROKER_ENDPOINT_NOT_ALLOWED', `connection ${spec.name} does not allow ${method} ${path.text}`);
        }
        query = checkQuery(call.query ?? '');
        headers = forwardedRequestHeaders(call.headers, injectedHeaderNames(upstream.connection.inject));
      } else if (method !== 'POST' || path.text !== '/query') {
        throw new MandateError('ERR_BROKER_ENDPOINT_UNKNOWN', `database connection ${spec.name} answers only POST /query`);
      }
    } catch (error) {
      if (isMandateError(error)) await recordRefusal(this.deps, refusalBase, error.code, error.message);
      throw error;
    }
    const body = await call.readBody(spec.body_limit).catch(async (error: unknown) => {
      if (isMandateError(error)) await recordRefusal(this.deps, refusalBase, error.code, error.message);
      throw error;
    });
    if (spec.type === 'postgres') return this.databases.query(spec, call, body, trace);

    const meta = endpointMetaOf(spec, method, path.segments);
    // Read only when something reads them: record constraints, or a policy on `context.args`.
    const constrained = recordsOf(principal.claims) !== undefined;
    const read = constrained || this.deps.authorizer.readsArguments ? brokerArguments(body, call.headers['content-type'], query) : undefined;
    const request: CallRequest = {
      principal,
      card: await cardOf(this.deps, principal.agentId),
      action: 'http:request',
      httpMethod: method,
      scopeItem: `http:${spec.name}:${method}:/${path.segments.join('/')}`,
      resource: { type: 'endpoint', connection: spec.name, name: `${method} ${path.text}`, highImpact: meta.highImpact, cost: meta.cost, classification: meta.classification },
      label: `${spec.name} ${method} ${path.text}`,
      args: { method, path: path.text, query, body_sha256: crypto.createHash('sha256').update(body).digest('hex') },
      allowArgs: ['method', 'path'],
      ...(read === undefined ? {} : 'values' in read ? { callArguments: read.values } : { callArgumentsUnreadable: read.unreadable }),
      destination: upstream!.base.host,
      traceId: call.traceId,
      trace,
    };
    const outcome = await decideCall(this.deps, request);
    if (!outcome.allowed) throw new BrokerDenial(outcome);

    let reply: BrokerReply;
    try {
      // Under constraints, the JSON body as it was checked (duplicate keys cannot smuggle another value).
      const checked = constrained && read !== undefined && 'canonicalBody' in read ? read.canonicalBody : undefined;
      reply = await inSpan(trace, 'upstream http', (upstreamSpan) => this.#exchange(upstream!, call, path, query, headers, checked ?? body, upstreamSpan), { 'mandate.connection': spec.name, 'http.request.method': method }, SpanKind.CLIENT);
    } catch (error) {
      await recordResult(this.deps, request, outcome.callId, { ok: false, bytes: 0, error: isMandateError(error) ? error.code : 'ERR_BROKER_INTERNAL' });
      throw error;
    }
    const failed = reply.status >= 400;
    await recordResult(this.deps, request, outcome.callId, { ok: !failed, bytes: reply.body.length, ...(failed ? { error: 'ERR_UPSTREAM_HTTP_STATUS', upstreamStatus: reply.status } : {}) });
    return reply;
  }

  async #exchange(upstream: Upstream, call: BrokerCall, path: BrokerPath, query: string, headers: http.OutgoingHttpHeaders, body: Buffer, trace: Traced | undefined): Promise<BrokerReply> {
    const { spec, inject } = upstream.connection;
    const injection = await fillInjection(this.#secrets, this.deps.masterKey, inject, call.principal.person).catch((error: unknown) => {
      if (isMandateError(error) && error.code === 'ERR_SECRET_NOT_FOUND') {
        throw new MandateError('ERR_BROKER_CREDENTIAL_MISSING', `connection ${spec.name} has no stored credential${call.principal.person ? ' for this person' : ''}`, { expose: true });
      }
      throw error;
    });
    const url = new URL(upstream.base.href);
    url.pathname = `${upstream.base.pathname.replace(/\/$/, '')}${path.forwarded}`;
    url.search = injectQuery(query, injection.query);
    const response = await forward(spec.name, {
      url,
      method: call.method,
      headers: {
        ...headers,
        // The upstream joins the trace under the broker's span (the agent's own traceparent without tracing).
        ...(trace ? { traceparent: traceparentFor(trace, undefined) } : {}),
        ...injection.headers,
        'accept-encoding': 'identity',
        ...(body.length > 0 ? { 'content-length': String(body.length) } : {}),
      },
      body: body.length > 0 ? body : undefined,
      timeoutMs: spec.timeout_ms,
      bodyLimit: spec.body_limit,
      agent: upstream.agent,
      lookup: upstream.lookup,
    });
    return this.#reply(upstream, call, response, injection.secrets);
  }

  #reply(upstream: Upstream, call: BrokerCall, response: UpstreamResponse, secrets: string[]): BrokerReply {
    const headers = returnedResponseHeaders(response.headers, injectedHeaderNames(upstream.connection.inject), secrets);
    const location = this.#locationTarget(upstream, call, response.headers.location);
    if (location) headers.location = scrubSecrets(location, secrets);
    const decoded = decodeContent(response.body, response.headers['content-encoding'], upstream.connection.spec.body_limit);
    return { status: response.status, headers, body: scrubBody(decoded, response.headers['content-type'], secrets) };
  }

  /** A Location (redirect, 201) within the connection's base URL points back through the broker; any other is dropped. */
  #locationTarget(upstream: Upstream, call: BrokerCall, location: string | undefined): string | undefined {
    if (!location) return undefined;
    let target: URL;
    try {
      target = new URL(location, upstream.base);
    } catch {
      return undefined;
    }
    const basePath = upstream.base.pathname.replace(/\/$/, '');
    if (target.origin !== upstream.base.origin || !(target.pathname === basePath || target.pathname.startsWith(`${basePath}/`))) return undefined;
    return `${call.brokerUrl}${target.pathname.slice(basePath.length) || '/'}${target.search}`;
  }

  /** A stored spec is trusted no more than a new one: its base URL is checked again here. */
  #upstream(spec: HttpConnectionSpec): Upstream {
    const key = JSON.stringify(spec);
    const cached = this.#upstreams.get(spec.name);
    if (cached?.key === key) return cached;
    cached?.agent.destroy();
    let base: URL;
    try {
      base = checkBaseUrl(spec.base_url, spec.insecure);
    } catch (error) {
      throw upstreamError('ERR_UPSTREAM_ADDRESS_REFUSED', `connection ${spec.name} has a base URL the broker refuses: ${(error as Error).message}`);
    }
    const lookup = pinnedLookup(base.hostname, this.deps.resolver);
    const upstream = { key, connection: compileHttp(spec), base, lookup, agent: connectionAgent(base, lookup) };
    this.#upstreams.set(spec.name, upstream);
    return upstream;
  }

  /** Forget a connection's pooled sockets and, for a database, drop the roles it created. */
  async forget(name: string): Promise<void> {
    this.#upstreams.get(name)?.agent.destroy();
    this.#upstreams.delete(name);
    await this.databases.forget(name);
  }

  /** Another replica changed or removed a connection: close what this one holds open for it. */
  async release(name: string): Promise<void> {
    this.#upstreams.get(name)?.agent.destroy();
    this.#upstreams.delete(name);
    await this.databases.release(name);
  }

  async close(): Promise<void> {
    for (const upstream of this.#upstreams.values()) upstream.agent.destroy();
    this.#upstreams.clear();
    await this.databases.close();
  }
}
