import { describe, expect, it } from 'vitest';
import { base64url, decodeBase64url } from './base64url.ts';

describe('strict base64url', () => {
  it('round-trips every length of byte string', () => {
    for (let n = 0; n < 40; n++) {
      const input = Buffer.from(Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff));
      expect(decodeBase64url(base64url(input))).toEqual(input);
    }
  });

  it('refuses padding, whitespace, the standard alphabet and impossible lengths', () => {
    for (const text of ['AQ==', 'AQ =', 'A Q', 'ab+c', 'ab/c', 'abcde', '\nAQ']) {
      expect(decodeBase64url(text)).toBeUndefined();
    }
  });

  it('refuses non-zero unused trailing bits, so each byte string has one spelling', () => {
    expect(decodeBase64url('AQ')).toEqual(Buffer.from([1]));
    expect(decodeBase64url('AR')).toBeUndefined();
    expect(decodeBase64url('AAE')).toEqual(Buffer.from([0, 1]));
    expect(decodeBase64url('AAF')).toBeUndefined();
  });
});
