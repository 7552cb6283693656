import type { FastifyRequest } from 'fastify';

/**
 * DNS rebinding (MCP transports, "Security Warning"): a browser page from another origin never
 * reaches an enforcement point. Agents send no Origin; a browser on our own origin may.
 */
export function foreignOrigin(issuer: string, request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  return Boolean(origin) && origin !== new URL(issuer).origin;
}
