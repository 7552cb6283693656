import { describe, expect, it } from 'vitest';
import { appendEvent } from '../chain.ts';
import { draftAt } from '../testdata/events.ts';
import { extensionValue, headerField, toCef } from './cef.ts';

const CHAIN = 'instance:i-7f3a';

describe('CEF export', () => {
  it('escapes backslash and pipe in header fields and folds line breaks', () => {
    expect(headerField('a|b\\c=d\r\ne\nf')).toBe('a\\|b\\\\c=d e f');
  });

  it('escapes backslash, equals, CR and LF in extension values, and leaves pipes alone', () => {
    expect(extensionValue('a|b\\c=d\r\ne')).toBe('a|b\\\\c\\=d\\r\\ne');
  });

  it('writes a denied tool call with tricky values as one exact line', () => {
    const event = appendEvent(null, {
      id: 'evt-1',
      time: '2025-06-01T09:00:00.000Z',
      chain: CHAIN,
      type: 'tool.decision',
      actor: { instance: 'i-7f3a', agent: 'triage-bot', person: 'alice=admin', delegation: ['alice', 'i-7f3a'] },
      action: 'fs.write|rm\\tmp',
      resource: 'file:///etc/pass=wd',
      decision: 'deny',
      reasons: { policies: ['forbid-etc', 'forbid-rm'], message: 'line one\r\nline two', risk: 0.9 },
      status: 'failure',
      denial_reason: 'ERR_POLICY_DENIED',
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
    });
    expect(toCef(event, { productVersion: '0.1.0' })).toBe(
      'CEF:0|Mandate|Mandate|0.1.0|tool.decision|tool.decision deny fs.write\\|rm\\\\tmp|5|' +
        'rt=1748768400000 externalId=evt-1 cat=tool.decision act=deny outcome=failure reason=ERR_POLICY_DENIED ' +
        'msg=line one\\r\\nline two suser=alice\\=admin requestClientApplication=triage-bot ' +
        'request=file:///etc/pass\\=wd cs1=i-7f3a cs1Label=instance cs2=alice > i-7f3a cs2Label=delegation ' +
        'cs3=forbid-etc,forbid-rm cs3Label=policies cs4=4bf92f3577b34da6a3ce929d0e0e4736 cs4Label=traceId ' +
        'cs6=fs.write|rm\\\\tmp cs6Label=action cn1=1 cn1Label=seq cfp2=0.9 cfp2Label=risk ' +
        `flexString1=${CHAIN} flexString1Label=chain flexString2=${event.hash} flexString2Label=hash`,
    );
  });

  it('rates severity by what happened', () => {
    const severity = (patch: object) =>
      toCef({ ...appendEvent(null, draftAt(CHAIN, 1)), ...patch }, { productVersion: '1' }).split('|')[6];
    expect(severity({ decision: 'allow', status: 'success' })).toBe('1');
    expect(severity({ decision: null, status: 'failure' })).toBe('3');
    expect(severity({ decision: 'deny' })).toBe('5');
    expect(severity({ type: 'anomaly.detected' })).toBe('8');
    expect(severity({ type: 'alert.raised' })).toBe('8');
  });

  it('gives a broker event its HTTP method as requestMethod', () => {
    const event = { ...appendEvent(null, draftAt(CHAIN, 3)), type: 'http.decision', resource: 'github DELETE /repos/acme', data: { method: 'DELETE' } };
    expect(toCef(event, { productVersion: '1' })).toContain(' requestMethod=DELETE ');
  });

  it('stays on one line whatever the event holds', () => {
    const event = { ...appendEvent(null, draftAt(CHAIN, 2)), action: 'a\nb', denial_reason: 'x\ry' };
    expect(toCef(event, { productVersion: '1\n2' })).not.toMatch(/[\r\n]/);
  });
});
