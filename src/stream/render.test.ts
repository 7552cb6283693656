import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toJsonLine } from '../audit/export/jsonl.ts';
import { canonicalize } from '../audit/jcs.ts';
import { MemoryAuditWriter } from '../audit/memory-writer.ts';
import type { TrailRow } from '../store/repositories/trail-sinks.ts';
import { jsonLineOf, renderEvents } from './render.ts';

const argsArb = fc.dictionary(fc.oneof(fc.constantFrom('id', 'hash', 'i', 'ic', 'h'), fc.string({ maxLength: 8 })), fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.constant(null), fc.constant('","id":"x"')), { maxKeys: 5 });

/** A trail row as the store keeps it: the JCS text of the event without its hash. */
const rowOf = (event: Awaited<ReturnType<MemoryAuditWriter['append']>>, position: number): TrailRow => {
  const { hash, ...unhashed } = event;
  return { position, id: event.id, chain: event.chain, seq: event.seq, type: event.type, time: event.time, decision: event.decision ?? null, status: event.status, body: canonicalize(unhashed), hash };
};

describe('rendering trail events for sinks', () => {
  it('splices the hash into the stored text to give exactly the exported JSON line, whatever the arguments hold', async () => {
    await fc.assert(
      fc.asyncProperty(argsArb, fc.string({ maxLength: 40 }), async (args, message) => {
        const writer = new MemoryAuditWriter();
        const event = await writer.append({ chain: 'instance:i-1', type: 'tool.decision', actor: { agent: 'a', instance: 'i-1', person: 'p', delegation: [] }, action: 'tools/call', resource: 'r', status: 'success', decision: 'allow', args, reasons: { message } });
        expect(`${jsonLineOf(rowOf(event, 0))}\n`).toBe(toJsonLine(event));
      }),
      { numRuns: 200 },
    );
  });

  it('gives each format its line, with the event id, the chain order and the severity', async () => {
    const writer = new MemoryAuditWriter();
    const allow = await writer.append({ chain: 'instance:i-1', type: 'tool.decision', actor: { agent: 'a', instance: 'i-1', person: 'p', delegation: [] }, status: 'success', decision: 'allow' });
    const deny = await writer.append({ chain: 'instance:i-1', type: 'tool.decision', actor: { agent: 'a', instance: 'i-1', person: 'p', delegation: [] }, status: 'failure', decision: 'deny', denial_reason: 'ERR_POLICY_DENIED' });
    const rows = [rowOf(allow, 7), rowOf(deny, 8)];
    const [jsonl, ocsf, cef] = (['jsonl', 'ocsf', 'cef'] as const).map((format) => renderEvents(rows, format, '1.0.0'));
    expect(jsonl!.map((e) => [e.position, e.seq, e.severity, e.json])).toEqual([[7, 1, 'informational', true], [8, 2, 'medium', true]]);
    expect(JSON.parse(jsonl![1]!.text)).toEqual(deny);
    expect(JSON.parse(ocsf![0]!.text).metadata.uid).toBe(allow.id);
    expect(cef![1]!.text).toMatch(new RegExp(`^CEF:0\\|Mandate\\|Mandate\\|1\\.0\\.0\\|tool\\.decision\\|.*externalId=${deny.id}`));
    expect(cef![1]!.json).toBe(false);
  });
});
