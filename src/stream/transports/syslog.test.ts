import { describe, expect, it } from 'vitest';
import type { OutEvent } from '../render.ts';
import { framedBatch, octetCounted, syslogMessage } from './syslog.ts';

const event = (over: Partial<OutEvent> = {}): OutEvent => ({
  position: 0, id: 'ev-1', chain: 'instance:i-1', seq: 3, type: 'anomaly.detected', time: '2026-01-01T00:00:00.123Z', severity: 'high', text: '{"é":"ü"}', json: true, ...over,
});

describe('RFC 5424 messages framed by octet counting (RFC 6587)', () => {
  it('writes PRI (facility 13, log audit), version, time, host, app, MSGID and the event id as structured data', () => {
    expect(syslogMessage(event(), 'host-1')).toBe('<107>1 2026-01-01T00:00:00.123Z host-1 mandate - anomaly.detected [mandate@32473 id="ev-1" chain="instance:i-1" seq="3"] {"é":"ü"}');
    expect(syslogMessage(event({ severity: 'informational' }), 'h').startsWith('<110>1 ')).toBe(true);
  });

  it('escapes ", \\ and ] in SD parameter values (§6.3.3)', () => {
    expect(syslogMessage(event({ id: 'a"b\\c]d' }), 'h')).toContain('id="a\\"b\\\\c\\]d"');
  });

  it('counts octets, not characters, and frames a batch back to back', () => {
    expect(octetCounted('é')).toBe('2 é');
    const wire = framedBatch(['é', 'abc']).toString('utf8');
    expect(wire).toBe('2 é3 abc');
  });
});
