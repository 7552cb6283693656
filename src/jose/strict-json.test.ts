import { describe, expect, it } from 'vitest';
import { findDuplicateMember, parseJsonObject } from './strict-json.ts';

const bytes = (text: string) => Buffer.from(text, 'utf8');

describe('JSON objects with unique member names', () => {
  it('accepts an object with nested objects and arrays', () => {
    expect(parseJsonObject(bytes('{"a":{"b":1,"c":[{"b":2},"b"]},"b":"{\\"a\\":1}"}'))).toEqual({
      ok: true,
      value: { a: { b: 1, c: [{ b: 2 }, 'b'] }, b: '{"a":1}' },
    });
  });

  it('refuses a duplicate member at the top level and names it', () => {
    expect(parseJsonObject(bytes('{"alg":"EdDSA","alg":"none"}'))).toEqual({
      ok: false,
      reason: 'duplicate',
      member: 'alg',
    });
  });

  it('refuses a duplicate member inside a nested object', () => {
    expect(findDuplicateMember('{"act":{"sub":"a","x":[1,{"y":2}],"sub":"b"}}')).toBe('sub');
  });

  it('compares member names after unescaping', () => {
    expect(findDuplicateMember('{"aud":"x","\\u0061ud":"y"}')).toBe('aud');
  });

  it('does not mistake string values or array items for member names', () => {
    expect(findDuplicateMember('{"a":"a","b":["a","a"],"c":{"a":"a"}}')).toBeUndefined();
    expect(findDuplicateMember('{"a":1,"b":true,"c":null,"d":-1.5e3}')).toBeUndefined();
  });

  it('survives deep nesting without recursion', () => {
    const deep = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
    expect(findDuplicateMember(deep)).toBeUndefined();
  });

  it('refuses arrays, scalars, invalid UTF-8 and a byte order mark', () => {
    for (const input of [bytes('[]'), bytes('1'), bytes('null'), Buffer.from([0x7b, 0xff, 0x7d]), bytes('\uFEFF{}')]) {
      expect(parseJsonObject(input)).toEqual({ ok: false, reason: 'malformed' });
    }
  });
});
