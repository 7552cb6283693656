import type { FastifyReply } from 'fastify';
import type { ErrorCode } from '../errors.ts';
import { jsonRpcError } from '../errors/render.ts';
import type { ResourceKind } from './kinds.ts';

/**
 * A refusal on the wire of an enforcement point: a JSON-RPC error object on MCP endpoints, the
 * broker's `{ error, message }` JSON on HTTP ones. `wire` is what an HTTP body names when the
 * code may not be shown (an OAuth `error` value); JSON-RPC always carries a catalogued code.
 */
export function sendRefusal(
  reply: FastifyReply,
  kind: Pick<ResourceKind, 'protocol'>,
  status: number,
  code: ErrorCode,
  message: string,
  options: { wire?: string; extra?: Record<string, unknown> } = {},
): FastifyReply {
  reply.status(status);
  if (kind.protocol === 'jsonrpc') return reply.send(jsonRpcError(code, message));
  return reply.header('content-type', 'application/json; charset=utf-8').send({ error: options.wire ?? code, message, ...options.extra });
}
