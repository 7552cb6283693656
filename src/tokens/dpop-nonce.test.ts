import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DpopNonces } from './dpop-nonce.ts';

describe('server-provided DPoP nonces (RFC 9449 §8)', () => {
  const master = crypto.randomBytes(32);
  const at = (iso: string) => new Date(iso);

  it('are the same on every replica holding the master key, and differ under another key', () => {
    const a = new DpopNonces(master);
    const b = new DpopNonces(Buffer.from(master));
    const other = new DpopNonces(crypto.randomBytes(32));
    const now = at('2026-12-02T10:00:30Z');
    expect(a.current(now)).toBe(b.current(now));
    expect(b.accepted(now)).toContain(a.current(now));
    expect(other.accepted(now)).not.toContain(a.current(now));
  });

  it('accept a nonce in its minute and the next, and refuse it after', () => {
    const nonces = new DpopNonces(master);
    const issued = nonces.current(at('2026-12-02T10:00:59Z'));
    expect(nonces.accepted(at('2026-12-02T10:00:00Z'))).toContain(issued);
    expect(nonces.accepted(at('2026-12-02T10:01:59Z'))).toContain(issued);
    expect(nonces.accepted(at('2026-12-02T10:02:00Z'))).not.toContain(issued);
    expect(nonces.accepted(at('2026-12-02T09:59:59Z'))).not.toContain(issued);
  });

  it('use only the characters RFC 9449 allows in a nonce (NQCHAR)', () => {
    expect(new DpopNonces(master).current(new Date())).toMatch(/^[\x21\x23-\x5b\x5d-\x7e]+$/);
  });
});
