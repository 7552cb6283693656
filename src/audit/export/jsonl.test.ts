import { describe, expect, it } from 'vitest';
import { verifyChain } from '../chain.ts';
import { hashEvent } from '../event.ts';
import { buildChain } from '../testdata/events.ts';
import { fromJsonLine, toJsonLine } from './jsonl.ts';

describe('JSON Lines export', () => {
  it('writes each event as its canonical JSON on one line', () => {
    const [event] = buildChain(1);
    const line = toJsonLine({ ...event!, reasons: { message: 'two\nlines\u2028' } });
    expect(line.endsWith('}\n')).toBe(true);
    expect(line.slice(0, -1)).not.toContain('\n');
    expect(line).toContain('"reasons":{"message":"two\\nlines\u2028"}');
  });

  it('reads back into events that still verify as a chain', () => {
    const events = buildChain(5);
    const file = events.map(toJsonLine).join('');
    const read = file.trimEnd().split('\n').map(fromJsonLine);
    expect(read).toEqual(events);
    expect(verifyChain(read).ok).toBe(true);
  });

  it('lets a consumer recompute the hash from the line alone', () => {
    const [event] = buildChain(1);
    const { hash, ...rest } = JSON.parse(toJsonLine(event!));
    expect(hashEvent(rest)).toBe(hash);
  });

  it('refuses a line that is not JSON, or not an event', () => {
    expect(() => fromJsonLine('{"id":')).toThrow(expect.objectContaining({ code: 'ERR_AUDIT_LINE_INVALID' }));
    expect(() => fromJsonLine('{"id":"x"}')).toThrow(expect.objectContaining({ code: 'ERR_AUDIT_EVENT_INVALID' }));
  });
});
