// JSON-RPC 2.0 §4, §5.1 and §6 — what an MCP endpoint accepts as a request body
import type { FastifyInstance } from 'fastify';
import { JSONRPCMessageSchema } from '@modelcontextprotocol/sdk/types.js';
import type { ErrorCode } from '../errors.ts';
import { MAX_JSON_DEPTH, nestsTooDeep } from '../json-depth.ts';

/** A body the gateway could not take as JSON-RPC, answered with one error object and HTTP 400. */
export interface RejectedBody {
  rejected: { message: string; mandateCode: ErrorCode };
}

export const isRejected = (body: unknown): body is RejectedBody =>
  typeof body === 'object' && body !== null && 'rejected' in body && Object.keys(body).length === 1;

/** Its JSON-RPC code (-32700 or -32600) comes from the error catalogue. */
const reject = (message: string, mandateCode: ErrorCode): RejectedBody => ({ rejected: { message, mandateCode } });

/**
 * The MCP routes parse their own bodies so that a bad one is answered in JSON-RPC, after the
 * caller is authenticated (and the refusal audited): not JSON, or nested past the limit, is a
 * Parse error (-32700); JSON that is not a Request, Notification or Response (no `method`, an
 * empty batch) is an Invalid Request (-32600). A batch with one bad member is refused whole.
 */
export function registerJsonRpcParser(scope: FastifyInstance): void {
  // fastify's own JSON parser: prototype poisoning (`__proto__`, `constructor.prototype`) refused.
  const parse = scope.getDefaultJsonParser('error', 'error');
  scope.removeContentTypeParser('application/json');
  scope.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (nestsTooDeep(body as string)) return done(null, reject(`Parse error: JSON nested deeper than ${MAX_JSON_DEPTH} levels`, 'ERR_JSON_TOO_DEEP'));
    return parse(request, body as string, (error, value) =>
      done(null, error ? reject('Parse error: the body is not valid JSON', 'ERR_MALFORMED_JSON') : checkMessages(value)),
    );
  });
}

function checkMessages(value: unknown): unknown {
  const messages = Array.isArray(value) ? value : [value];
  if (messages.length === 0) return reject('Invalid Request: an empty batch', 'ERR_JSONRPC_INVALID_REQUEST');
  if (!messages.every((m) => JSONRPCMessageSchema.safeParse(m).success)) {
    return reject('Invalid Request: not a JSON-RPC 2.0 request, notification or response (a request needs "method")', 'ERR_JSONRPC_INVALID_REQUEST');
  }
  return value;
}

/** What a request asked for, as the trail labels calls: the tool of one `tools/call`, else the server. */
export function labelOf(server: string, body: unknown): string {
  const message = body as { method?: unknown; params?: { name?: unknown } } | null | undefined;
  const name = message?.method === 'tools/call' ? message.params?.name : undefined;
  return typeof name === 'string' ? `${server}/${name.slice(0, 200)}` : server;
}
