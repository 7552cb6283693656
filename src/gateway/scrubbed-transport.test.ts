import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { ScrubbedTransport, scrubMessage } from './scrubbed-transport.ts';

const SECRET = 'ghp_S3cretT0kenValue';
const withSecretAt = (offset: number) => Buffer.concat([Buffer.alloc(offset, 0xfe), Buffer.from(SECRET), Buffer.from([0, 1])]);

/** An upstream transport whose incoming messages the test injects. */
function fakeUpstream(): Transport & { deliver(message: unknown): void } {
  const transport = {
    start: async () => {},
    send: async () => {},
    close: async () => {},
    deliver: (message: unknown) => transport.onmessage?.(message as JSONRPCMessage),
  } as Transport & { deliver(message: unknown): void };
  return transport;
}

describe('scrubbing what an upstream MCP server sends', () => {
  it('re-encodes base64 blobs and image data with the secret replaced, at every alignment', () => {
    for (const offset of [0, 1, 2]) {
      const blob = withSecretAt(offset).toString('base64');
      const scrubbed = scrubMessage({ contents: [{ uri: 'x://k', blob }], content: [{ type: 'image', data: blob }] }, [SECRET]);
      for (const encoded of [scrubbed.contents[0]!.blob, scrubbed.content[0]!.data]) {
        const bytes = Buffer.from(encoded, 'base64');
        expect(bytes.toString('base64')).toBe(encoded);
        expect(bytes.toString('latin1')).not.toContain(SECRET);
        expect(bytes.toString('latin1')).toContain('[REDACTED]');
      }
    }
  });

  it('leaves base64 without a secret and data that is not base64 to the text scrubber', () => {
    const clean = Buffer.from('just an image').toString('base64');
    expect(scrubMessage({ blob: clean, data: `token ${SECRET}` }, [SECRET])).toEqual({ blob: clean, data: 'token [REDACTED]' });
  });

  it('hands on every incoming message scrubbed, and scrubs the transport errors it reports', async () => {
    const inner = fakeUpstream();
    const outer = new ScrubbedTransport(inner, [SECRET]);
    const seen: unknown[] = [];
    const errors: string[] = [];
    outer.onmessage = (message) => seen.push(message);
    outer.onerror = (error) => errors.push(error.message);
    inner.deliver({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: SECRET } });
    inner.deliver({ jsonrpc: '2.0', id: 3, error: { code: -32602, message: `bad ${SECRET}`, data: { encoded: Buffer.from(SECRET).toString('base64url') } } });
    inner.onerror?.(new Error(`cannot parse line: ${SECRET}`));
    expect(seen).toEqual([
      { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: '[REDACTED]' } },
      { jsonrpc: '2.0', id: 3, error: { code: -32602, message: 'bad [REDACTED]', data: { encoded: '[REDACTED]' } } },
    ]);
    expect(errors).toEqual(['cannot parse line: [REDACTED]']);
  });

  it('withholds a response it cannot scrub instead of passing it on', () => {
    const inner = fakeUpstream();
    const outer = new ScrubbedTransport(inner, [SECRET]);
    const seen: unknown[] = [];
    outer.onmessage = (message) => seen.push(message);
    outer.onerror = () => {};
    let deep: unknown = SECRET;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    inner.deliver({ jsonrpc: '2.0', id: 9, result: { deep } });
    expect(seen).toEqual([{ jsonrpc: '2.0', id: 9, error: { code: -32603, message: 'the upstream answer was withheld: it could not be scrubbed' } }]);
  });
});
