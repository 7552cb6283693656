import { MandateRequestError } from '../../sdk/runtime.ts';

/**
 * What the bridge answers a client request with when the gateway cannot carry it: a JSON-RPC
 * error to that request, never silence. Gateway refusals keep the gateway's own JSON-RPC error
 * (401/403/404 bodies carry one); the bridge adds its own codes for what only it can see.
 *
 * | data.code                 | JSON-RPC | when                                                          |
 * |---------------------------|----------|---------------------------------------------------------------|
 * | (the gateway's)           | (its)    | the gateway refused the request (revoked, suspended, scope …) |
 * | ERR_MANDATE_REFUSED       | -32001   | the token endpoint refused this bridge a mandate              |
 * | ERR_GATEWAY_UNREACHABLE   | -32000   | no answer from Mandate: refused connection, reset, timeout    |
 * | ERR_BRIDGE_FAILED         | -32603   | anything else that kept the request from being relayed        |
 */
export interface RpcError {
  code: number;
  message: string;
  data?: Record<string, unknown>;
}

/** A non-2xx answer from the gateway to a POST, with the JSON-RPC error its body carried. */
export class GatewayRefusal extends Error {
  readonly status: number;
  readonly rpc: RpcError;
  constructor(status: number, rpc: RpcError) {
    super(rpc.message);
    this.name = 'GatewayRefusal';
    this.status = status;
    this.rpc = rpc;
  }
}

/** The gateway's JSON-RPC error in a refused response, if its body holds one. */
export async function gatewayRefusalOf(response: Response): Promise<GatewayRefusal | undefined> {
  try {
    const body = (await response.clone().json()) as { error?: { code?: unknown; message?: unknown; data?: unknown } };
    const { code, message, data } = body.error ?? {};
    if (typeof code !== 'number' || typeof message !== 'string') return undefined;
    return new GatewayRefusal(response.status, { code, message, ...(data && typeof data === 'object' ? { data: data as Record<string, unknown> } : {}) });
  } catch {
    return undefined;
  }
}

/** The network-level reason a fetch failed (ECONNREFUSED, a timeout …), if that is what happened. */
export function networkReason(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  if (error.name === 'TimeoutError' || error.name === 'AbortError') return 'no answer in time';
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (error.name === 'TypeError' && cause) return typeof cause.code === 'string' ? cause.code : String(cause.message ?? 'fetch failed');
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) ? code : undefined;
}

export function unreachable(gateway: string, reason: string): RpcError {
  return { code: -32000, message: `Mandate gateway at ${gateway} is unreachable (${reason})`, data: { code: 'ERR_GATEWAY_UNREACHABLE' } };
}

export function rpcErrorOf(error: unknown, gateway: string): RpcError {
  if (error instanceof GatewayRefusal) return error.rpc;
  if (error instanceof MandateRequestError) {
    return { code: -32001, message: `Mandate refused this bridge a mandate: ${error.message}`, data: { code: 'ERR_MANDATE_REFUSED', cause: error.error } };
  }
  const reason = networkReason(error);
  if (reason) return unreachable(gateway, reason);
  return { code: -32603, message: `mcp-proxy could not relay the request: ${error instanceof Error ? error.message : 'unknown failure'}`, data: { code: 'ERR_BRIDGE_FAILED' } };
}
