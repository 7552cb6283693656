import type { Readable } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { traceOf } from '../enforcement/authenticate.ts';
import type { EnforcementContext } from '../enforcement/context.ts';
import { frontDoor } from '../enforcement/front-door.ts';
import { brokerConnections } from '../enforcement/kinds.ts';
import { sendRefusal } from '../enforcement/refusal.ts';
import { type ErrorCode, isMandateError, MandateError } from '../errors.ts';
import { identifierProblem } from '../validation.ts';
import { isStoreUnavailable, storeUnavailable } from '../store/errors.ts';
import type { Broker } from './broker.ts';
import { BrokerDenial } from './denial.ts';

const CONNECTION = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

/** Errors as the agent sees them: `{ error, message }`, never a stack or an upstream's words. */
const send = (reply: FastifyReply, status: number, code: ErrorCode, message: string) => sendRefusal(reply, brokerConnections, status, code, message);

/**
 * `/broker/<connection>/<path>` (any method): an HTTP API or a database reached with a credential
 * the agent never holds. Each request carries a DPoP-bound mandate whose audience is
 * `<issuer>/broker/<connection>` (or `<issuer>/broker` for every connection), checked by the
 * enforcement-point kit (`brokerConnections`); without one, 401 and a `DPoP` challenge naming the
 * protected resource metadata (RFC 9728).
 */
export function brokerRoutes(scope: FastifyInstance, ctx: EnforcementContext, broker: Broker) {
  // Bodies stay unread streams until the call is authenticated and its connection's limit known.
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
  scope.setErrorHandler((error: FastifyError, _request, reply) => {
    if (error.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') return send(reply, 400, 'ERR_BODY_LENGTH', 'invalid content length');
    if (isStoreUnavailable(error)) return send(reply, 503, 'ERR_STORE_UNAVAILABLE', storeUnavailable().message);
    ctx.logger.error({ err: error.message }, 'broker request failed');
    return send(reply, 500, 'ERR_INTERNAL', 'internal error');
  });

  const door = frontDoor(scope, ctx, brokerConnections, {
    calls: () => broker.deps,
    exists: async (connection) => CONNECTION.test(connection) && Boolean(await broker.findConnection(connection)),
    notFound: (reply, connection) => send(reply, 404, 'ERR_CONNECTION_NOT_FOUND', `no connection ${connection}`),
  });

  const handle = async (request: FastifyRequest, reply: FastifyReply) => {
    const target = request.raw.url ?? '';
    const q = target.indexOf('?');
    const match = /^\/broker\/([^/]*)(.*)$/s.exec(q < 0 ? target : target.slice(0, q));
    const connection = match?.[1] ?? '';
    const rawPath = match?.[2] ?? '';
    const named = identifierProblemOf(connection);
    if (named) return send(reply, 400, 'ERR_IDENTIFIER_NOT_CANONICAL', `the connection name ${named}; identifiers are refused unless in their canonical form`);
    if (!CONNECTION.test(connection)) return send(reply, 404, 'ERR_CONNECTION_NOT_FOUND', 'no such connection');
    if (door.refuseForeignOrigin(request, reply)) return reply;
    const spec = await broker.findConnection(connection);
    if (!spec) return send(reply, 404, 'ERR_CONNECTION_NOT_FOUND', `no connection ${connection}`);
    const label = `${connection} ${request.method.slice(0, 20)} ${rawPath.slice(0, 300) || '/'}`;
    const principal = await door.admit(request, reply, { name: connection, htuPath: rawPath, label, resource: { type: 'connection', connection } }, { governedCall: true });
    if (!principal) return reply;
    try {
      const result = await broker.call({
        spec,
        principal,
        method: request.method,
        rawPath,
        query: q < 0 ? null : target.slice(q + 1),
        headers: request.headers,
        readBody: (limit) => readLimited((request.body as Readable | undefined) ?? request.raw, limit),
        brokerUrl: door.audience(connection),
        traceId: traceOf(request),
      });
      return reply.status(result.status).headers(result.headers).send(result.body);
    } catch (error) {
      if (error instanceof BrokerDenial) {
        if (error.code === 'ERR_DPOP_REPLAY') return door.challenge(reply, connection, error);
        if (error.retryAfter !== undefined) reply.header('retry-after', String(Math.ceil(error.retryAfter)));
        const extra = { ...(error.approval ? { approval: error.approval } : {}), ...(error.field !== undefined ? { field: error.field } : {}) };
        return door.refuse(reply, error.status, error.code, error.message, Object.keys(extra).length > 0 ? extra : undefined);
      }
      if (isMandateError(error) && error.expose) return send(reply, error.status, error.code, error.message);
      if (isStoreUnavailable(error)) return send(reply, 503, 'ERR_STORE_UNAVAILABLE', storeUnavailable().message);
      ctx.logger.error({ connection, code: isMandateError(error) ? error.code : undefined }, 'broker call failed');
      return send(reply, 500, 'ERR_INTERNAL', 'internal error');
    }
  };

  scope.all('/broker/:connection', handle);
  scope.all('/broker/:connection/*', handle);
}

/** The identifier problem of a connection name as the agent spelled it (percent-decoded), if any. */
function identifierProblemOf(raw: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return null;
  }
  return identifierProblem(decoded);
}

/** Read a request body, refusing it (413) past `limit` bytes without buffering the rest. */
function readLimited(stream: Readable, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (stream.readableEnded) return resolve(Buffer.alloc(0));
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        stream.off('data', onData);
        stream.resume();
        reject(new MandateError('ERR_BODY_TOO_LARGE', `the request body is larger than the connection's limit of ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    stream.on('data', onData);
    stream.once('end', () => resolve(Buffer.concat(chunks, size)));
    stream.once('error', () => reject(new MandateError('ERR_BODY_INCOMPLETE', 'the request body could not be read')));
  });
}
