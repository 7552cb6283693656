import { jsonRpcError } from '../../errors/render.ts';
import { MandateRequestError } from '../../sdk/runtime.ts';

/**
 * What the bridge answers a client request with when the gateway cannot carry it: a JSON-RPC
 * error to that request, never silence. Gateway refusals keep the gateway's own JSON-RPC error
 * (401/403/404 bodies carry one); the bridge adds its own catalogued codes for what only it can
 * see: ERR_MANDATE_REFUSED, ERR_GATEWAY_UNREACHABLE, ERR_BRIDGE_FAILED (docs/errors.md).
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
  return jsonRpcError('ERR_GATEWAY_UNREACHABLE', `Mandate gateway at ${gateway} is unreachable (${reason})`).error;
}

export function rpcErrorOf(error: unknown, gateway: string): RpcError {
  if (error instanceof GatewayRefusal) return error.rpc;
  if (error instanceof MandateRequestError) {
    const rpc = jsonRpcError('ERR_MANDATE_REFUSED', `Mandate refused this bridge a mandate: ${error.message}`).error;
    return { ...rpc, data: { ...rpc.data, cause: error.error } };
  }
  const reason = networkReason(error);
  if (reason) return unreachable(gateway, reason);
  return jsonRpcError('ERR_BRIDGE_FAILED', `mcp-proxy could not relay the request: ${error instanceof Error ? error.message : 'unknown failure'}`).error;
}
