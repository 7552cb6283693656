// JSON-RPC 2.0 §5.1 — error objects on MCP endpoints; and the CLI's one-line error.
import { CATALOGUE, type ErrorCode, JSONRPC } from './catalogue.ts';

export interface JsonRpcErrorBody {
  jsonrpc: '2.0';
  id: string | number | null;
  error: { code: number; message: string; data: { code: ErrorCode } };
}

/**
 * A JSON-RPC error response for a catalogued code: the catalogue's JSON-RPC number (the
 * server-defined -32000 where none is given), the message, and Mandate's code in `data.code` so
 * a client can switch on it.
 */
export function jsonRpcError(code: ErrorCode, message: string, id: string | number | null = null): JsonRpcErrorBody {
  const entry = CATALOGUE[code] as { jsonrpc?: number };
  return { jsonrpc: '2.0', id, error: { code: entry.jsonrpc ?? JSONRPC.refused, message, data: { code } } };
}

/** The CLI's line for an error with a catalogued code: the message, then the code to look up. */
export const cliLine = (code: string, message: string) => `error: ${message} (${code})`;
