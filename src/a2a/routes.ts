import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { traceOf } from '../enforcement/authenticate.ts';
import type { EnforcementContext } from '../enforcement/context.ts';
import { frontDoor } from '../enforcement/front-door.ts';
import { a2aPeers } from '../enforcement/kinds.ts';
import { recordRefusal } from '../enforcement/trail.ts';
import type { ErrorCode } from '../errors.ts';
import { MAX_JSON_DEPTH, nestsTooDeep } from '../json-depth.ts';
import { isStoreUnavailable, storeUnavailable } from '../store/errors.ts';
import { identifierProblem } from '../validation.ts';
import { publishedCard } from './card.ts';
import { findPeer } from './peer-spec.ts';
import type { A2aProxy } from './proxy.ts';

const PEER = /^[A-Za-z0-9_.-]{1,64}$/;
/** A JSON-RPC request larger than this is refused before it is parsed. */
const BODY_LIMIT = 1024 * 1024;

interface Rejected {
  rejected: { code: ErrorCode; message: string };
}
const isRejected = (body: unknown): body is Rejected => typeof body === 'object' && body !== null && 'rejected' in body && Object.keys(body).length === 1;

/**
 * `/a2a/<peer>`: the Agent2Agent protocol's JSON-RPC binding, authenticated with a DPoP-bound
 * mandate whose audience is `<issuer>/a2a/<peer>` (or `<issuer>/a2a`) by the enforcement-point kit
 * (`a2aPeers`); refusals are JSON-RPC error objects with the policy's reason. The peer's agent card
 * is published through Mandate at `/a2a/<peer>/.well-known/agent-card.json`.
 */
export function a2aRoutes(app: FastifyInstance, ctx: EnforcementContext, proxy: A2aProxy): void {
  app.register(async (scope) => {
    const send = (reply: FastifyReply, status: number, code: ErrorCode, message: string) => door.refuse(reply, status, code, message);
    scope.removeAllContentTypeParsers();
    // The body is read as text and parsed after the caller is authenticated, so a bad one is answered in JSON-RPC and audited.
    const parse = scope.getDefaultJsonParser('error', 'error');
    scope.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (request, body, done) => {
      if (nestsTooDeep(body as string)) return done(null, { rejected: { code: 'ERR_JSON_TOO_DEEP', message: `Parse error: JSON nested deeper than ${MAX_JSON_DEPTH} levels` } });
      return parse(request, body as string, (error, value) => done(null, error ? { rejected: { code: 'ERR_MALFORMED_JSON', message: 'Parse error: the body is not valid JSON' } } : value));
    });
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null, { rejected: { code: 'ERR_MEDIA_TYPE', message: 'an A2A request is application/json' } }));
    scope.setErrorHandler((error: FastifyError, _request, reply) => {
      if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return send(reply, 413, 'ERR_BODY_TOO_LARGE', `an A2A request is at most ${BODY_LIMIT} bytes`);
      if (isStoreUnavailable(error)) return send(reply, 503, 'ERR_STORE_UNAVAILABLE', storeUnavailable().message);
      ctx.logger.error({ err: error.message }, 'A2A request failed');
      return send(reply, 500, 'ERR_INTERNAL', 'internal error');
    });

    const door = frontDoor(scope, ctx, a2aPeers, {
      calls: () => proxy.deps,
      exists: async (peer) => PEER.test(peer) && Boolean(await findPeer(proxy.deps.store.db, peer)),
      notFound: (reply, peer) => send(reply, 404, 'ERR_PEER_NOT_FOUND', `no A2A peer ${peer}`),
    });

    const known = async (reply: FastifyReply, peer: string) => {
      const problem = identifierProblem(peer);
      if (problem) {
        send(reply, 400, 'ERR_IDENTIFIER_NOT_CANONICAL', `the peer name ${problem}; identifiers are refused unless in their canonical form`);
        return undefined;
      }
      const spec = PEER.test(peer) ? await findPeer(proxy.deps.store.db, peer) : undefined;
      if (!spec) send(reply, 404, 'ERR_PEER_NOT_FOUND', `no A2A peer ${peer}`);
      return spec;
    };

    scope.get<{ Params: { peer: string } }>('/a2a/:peer/.well-known/agent-card.json', async (request, reply) => {
      const spec = await known(reply, request.params.peer);
      if (!spec) return reply;
      return publishedCard(spec, { issuer: ctx.issuer, resource: door.audience(spec.name) });
    });

    scope.post<{ Params: { peer: string } }>('/a2a/:peer', async (request: FastifyRequest<{ Params: { peer: string } }>, reply) => {
      if (door.refuseForeignOrigin(request, reply)) return reply;
      const spec = await known(reply, request.params.peer);
      if (!spec) return reply;
      const body = request.body as unknown;
      const method = typeof (body as { method?: unknown } | null)?.method === 'string' ? String((body as { method: string }).method).slice(0, 100) : '';
      const label = `${spec.name}${method ? ` ${method}` : ''}`;
      const resource = { type: 'peer' as const, peer: spec.name, highImpact: false };
      const principal = await door.admit(request, reply, { name: spec.name, label, resource });
      if (!principal) return reply;
      const invalid = isRejected(body)
        ? body.rejected
        : typeof body !== 'object' || body === null || Array.isArray(body) || (body as { jsonrpc?: unknown }).jsonrpc !== '2.0' || !method
          ? { code: 'ERR_JSONRPC_INVALID_REQUEST' as const, message: 'Invalid Request: one JSON-RPC 2.0 request with a method (A2A sends no batches)' }
          : null;
      if (invalid) {
        await recordRefusal(proxy.deps, { principal, action: `a2a:${method}`, scopeItem: '', resource, label, traceId: traceOf(request) }, invalid.code, invalid.message);
        return send(reply, 400, invalid.code, invalid.message);
      }
      reply.hijack();
      try {
        const refused = await proxy.call({ spec, principal, message: body as Record<string, unknown>, headers: request.headers, traceId: traceOf(request) }, reply.raw);
        if (refused) {
          const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };
          if (refused.retryAfter !== undefined) headers['retry-after'] = String(Math.ceil(refused.retryAfter));
          reply.raw.writeHead(refused.status, headers);
          reply.raw.end(JSON.stringify(refused.body));
        }
      } catch (error) {
        ctx.logger.error({ peer: spec.name, err: (error as Error).message }, 'A2A call failed');
        if (!reply.raw.headersSent) {
          const unavailable = isStoreUnavailable(error);
          reply.raw.writeHead(unavailable ? 503 : 500, { 'content-type': 'application/json; charset=utf-8' });
          reply.raw.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32603, message: unavailable ? storeUnavailable().message : 'internal error' } }));
        } else reply.raw.end();
      }
      return reply;
    });
  });
}
