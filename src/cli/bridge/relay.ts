import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { isJSONRPCErrorResponse, isJSONRPCRequest, isJSONRPCResultResponse, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import { networkReason, type RpcError, rpcErrorOf, unreachable } from './refusals.ts';

export interface RelayOptions {
  local: Transport;
  upstream: Transport;
  /** The gateway's address, for messages. */
  gateway: string;
  /** Resolves when Mandate answers at all (any HTTP status), rejects when it does not. */
  probe: () => Promise<void>;
  log: (line: string) => void;
  /** How often requests still waiting make the bridge check that Mandate is there. */
  watchdogMs?: number;
}

/**
 * Relays JSON-RPC between the local client and the gateway, and answers every client request:
 * a request the gateway refuses or that cannot be sent gets its error at once; requests in
 * flight when Mandate stops answering (killed, network gone) get an error from the watchdog
 * within `watchdogMs` plus the probe's timeout, instead of hanging until the client gives up.
 */
export function relay(options: RelayOptions): { stop(): void } {
  const { local, upstream, gateway, probe, log } = options;
  const pending = new Set<RequestId>();
  const answer = (id: RequestId, error: RpcError) => {
    if (!pending.delete(id)) return;
    local.send({ jsonrpc: '2.0', id, error }).catch(() => {});
  };

  // initialize must come back (with the session id) before anything else is sent.
  let opened: Promise<void> | undefined;
  local.onmessage = (message) => {
    const id = isJSONRPCRequest(message) ? message.id : undefined;
    if (id !== undefined) pending.add(id);
    const send = () => upstream.send(message);
    let sending: Promise<void>;
    if (opened) sending = opened.then(send);
    else {
      sending = opened = send();
      // A failed initialize leaves the way open for the client's next attempt.
      opened.catch(() => (opened = undefined));
    }
    sending.catch((error: unknown) => {
      if (id !== undefined) answer(id, rpcErrorOf(error, gateway));
      else log(`mcp-proxy: ${rpcErrorOf(error, gateway).message}`);
    });
  };
  upstream.onmessage = (message) => {
    if ((isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) && message.id !== undefined) pending.delete(message.id);
    local.send(message).catch(() => {});
  };

  let probing = false;
  const check = async () => {
    if (probing || pending.size === 0) return;
    probing = true;
    try {
      await probe();
    } catch (error) {
      const gone = unreachable(gateway, networkReason(error) ?? 'no answer');
      for (const id of [...pending]) answer(id, { ...gone, message: `${gone.message}; the outcome of this request is unknown` });
    } finally {
      probing = false;
    }
  };
  upstream.onerror = (error) => {
    log(`mcp-proxy: gateway: ${error.message}`);
    void check();
  };
  const timer = setInterval(() => void check(), options.watchdogMs ?? 2000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
