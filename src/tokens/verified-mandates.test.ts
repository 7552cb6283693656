import { describe, expect, it } from 'vitest';
import type { MandateClaims } from './mandate.ts';
import { VerifiedMandates } from './verified-mandates.ts';

const claims = (exp: number, extra: Record<string, unknown> = {}) => ({ jti: 'j', exp, ...extra }) as unknown as MandateClaims;
const at = (seconds: number) => new Date(seconds * 1000);

describe('mandates already verified', () => {
  it('recognizes a mandate only at the resource it was verified for', () => {
    const cache = new VerifiedMandates();
    cache.set('https://m/mcp/a', 'tok', claims(200));
    expect(cache.get('https://m/mcp/a', 'tok', at(100))?.jti).toBe('j');
    expect(cache.get('https://m/mcp/b', 'tok', at(100))).toBeUndefined();
    expect(cache.get('https://m/mcp/a', 'tok2', at(100))).toBeUndefined();
  });

  it('forgets a mandate once it has expired, and one not yet valid', () => {
    const cache = new VerifiedMandates();
    cache.set('r', 'tok', claims(200));
    expect(cache.get('r', 'tok', at(200))).toBeUndefined();
    expect(cache.get('r', 'tok', at(100))).toBeUndefined();
    cache.set('r', 'early', claims(300, { nbf: 150 }));
    expect(cache.get('r', 'early', at(100))).toBeUndefined();
  });

  it('keeps at most its bound of entries, dropping the oldest', () => {
    const cache = new VerifiedMandates(2);
    for (const token of ['a', 'b', 'c']) cache.set('r', token, claims(200));
    expect(['a', 'b', 'c'].map((t) => cache.get('r', t, at(100)) !== undefined)).toEqual([false, true, true]);
  });
});
