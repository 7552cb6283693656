import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, type JSONRPCMessage, type MessageExtraInfo } from '@modelcontextprotocol/sdk/types.js';
import { secretScrubber } from '../audit/redact.ts';

/**
 * The one point where an upstream MCP server's words enter the gateway: every message it sends
 * (results and errors of every method, notifications, requests it makes of the client) has the
 * credentials injected into that connection scrubbed before the gateway reads it. What the agent
 * receives, what is pinned and what the trail records all come from here, so none of them can
 * hold an injected secret, whichever method carried it.
 */
export class ScrubbedTransport implements Transport {
  readonly #inner: Transport;
  readonly #scrubText: <T>(value: T) => T;
  readonly #scrubMessage: <T>(message: T) => T;
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: (<T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => void) | undefined;

  constructor(inner: Transport, secrets: readonly string[]) {
    this.#inner = inner;
    this.#scrubText = secretScrubber(secrets);
    this.#scrubMessage = messageScrubber(secrets);
    inner.onclose = () => this.onclose?.();
    // A transport's own errors may quote what the upstream sent (an unparsable line).
    inner.onerror = (error) => this.onerror?.(new Error(this.#scrubText(error.message)));
    inner.onmessage = (message, extra) => this.onmessage?.(this.#scrubbed(message), extra);
  }

  /** Fail closed: a message that cannot be scrubbed (nested past the stack) is never passed on as is. */
  #scrubbed(message: JSONRPCMessage): JSONRPCMessage {
    try {
      return this.#scrubMessage(message);
    } catch {
      this.onerror?.(new Error('an upstream message could not be scrubbed and was withheld'));
      const id = (message as { id?: unknown }).id;
      const withheld = { code: ErrorCode.InternalError, message: 'the upstream answer was withheld: it could not be scrubbed' };
      return typeof id === 'string' || typeof id === 'number' ? { jsonrpc: '2.0', id, error: withheld } : { jsonrpc: '2.0', method: 'notifications/mandate/withheld' };
    }
  }

  get sessionId(): string | undefined {
    return this.#inner.sessionId;
  }

  start(): Promise<void> {
    return this.#inner.start();
  }

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    return this.#inner.send(message, options);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  setProtocolVersion(version: string): void {
    this.#inner.setProtocolVersion?.(version);
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Scrub one JSON-RPC message. Base64 payloads (a resource's `blob`, an image's or audio's `data`)
 * are decoded first and, when their bytes hold a secret, re-encoded with it replaced, so the agent
 * still receives valid base64; every other string is scrubbed in all the forms `scrubSecrets`
 * knows (clear, JSON-escaped, URL-encoded, base64 and base64url, inside longer base64 text).
 */
export function scrubMessage<T>(message: T, secrets: readonly string[]): T {
  return messageScrubber(secrets)(message);
}

/** `scrubMessage` for one connection's secrets, everything it needs built once. */
export function messageScrubber(secrets: readonly string[]): <T>(message: T) => T {
  if (secrets.length === 0) return (message) => message;
  const scrubText = secretScrubber(secrets);
  const scrubBytes = secretScrubber(secrets.filter((s) => s !== '').map((s) => Buffer.from(s, 'utf8').toString('latin1')));
  const scrubBase64 = (encoded: string): string => {
    const bytes = Buffer.from(encoded, 'base64').toString('latin1');
    const scrubbed = scrubBytes(bytes);
    return scrubbed === bytes ? encoded : Buffer.from(scrubbed, 'latin1').toString('base64');
  };
  const unpack = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(unpack);
    if (value === null || typeof value !== 'object') return value;
    const out: Record<string, unknown> = {};
    for (const [key, member] of Object.entries(value)) {
      const encoded = (key === 'blob' || key === 'data') && typeof member === 'string' && BASE64.test(member);
      out[key] = encoded ? scrubBase64(member) : unpack(member);
    }
    return out;
  };
  return <T>(message: T) => scrubText(unpack(message)) as T;
}
