import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalize } from './jcs.ts';

const fromBits = (hex: string) => Buffer.from(hex, 'hex').readDoubleBE(0);

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return 'no error';
};

describe('RFC 8785 canonical JSON', () => {
  it('serializes the RFC 8785 §3.2.2 example exactly', () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
        '"string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",' +
        '"literals": [null, true, false]}',
    );
    expect(canonicalize(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('sorts members by UTF-16 code units as in the RFC 8785 §3.2.3 example', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    expect(canonicalize(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","ö":"Latin Small Letter O With Diaeresis",' +
        '"€":"Euro Sign","😀":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('puts "10" before "9", which JavaScript property order would not', () => {
    expect(canonicalize({ 9: 'b', 10: 'a', a: { z: 1, y: [2, { x: 3, w: 4 }] } })).toBe(
      '{"10":"a","9":"b","a":{"y":[2,{"w":4,"x":3}],"z":1}}',
    );
  });

  // RFC 8785 Appendix B: IEEE 754 bit patterns and their canonical text.
  it.each([
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ])('serializes the double with bits %s as %s (Appendix B)', (bits, text) => {
    expect(canonicalize(fromBits(bits))).toBe(text);
  });

  it('reads 333333333.33333329 and 1E21 from JSON text into their canonical forms', () => {
    expect(canonicalize(JSON.parse('[333333333.33333329, 1E21, 1e20, -0, 0.1e1]'))).toBe(
      '[333333333.3333333,1e+21,100000000000000000000,0,1]',
    );
  });

  it('escapes control characters in lowercase hex and leaves other Unicode as is', () => {
    expect(canonicalize('\u0000\u001f\b\t\n\f\r"\\/\u007f\u2028é😀')).toBe(
      '"\\u0000\\u001f\\b\\t\\n\\f\\r\\"\\\\/\u007f\u2028é😀"',
    );
  });

  it('leaves out object members whose value is undefined', () => {
    expect(canonicalize({ b: undefined, a: 1 })).toBe('{"a":1}');
  });

  it('refuses NaN and the infinities (RFC 8785 §3.2.2.3)', () => {
    expect(codeOf(() => canonicalize(fromBits('7fffffffffffffff')))).toBe('ERR_JCS_NON_FINITE_NUMBER');
    expect(codeOf(() => canonicalize({ a: [Number.POSITIVE_INFINITY] }))).toBe('ERR_JCS_NON_FINITE_NUMBER');
    expect(codeOf(() => canonicalize(Number.NEGATIVE_INFINITY))).toBe('ERR_JCS_NON_FINITE_NUMBER');
  });

  it('refuses undefined inside an array instead of turning it into null', () => {
    expect(codeOf(() => canonicalize([1, undefined]))).toBe('ERR_JCS_UNSUPPORTED_TYPE');
  });

  it('refuses lone surrogates in strings and in member names (I-JSON)', () => {
    expect(codeOf(() => canonicalize('a\ud800b'))).toBe('ERR_JCS_LONE_SURROGATE');
    expect(codeOf(() => canonicalize({ '\udc00': 1 }))).toBe('ERR_JCS_LONE_SURROGATE');
    expect(canonicalize('\ud83d\ude00')).toBe('"😀"');
  });

  it('refuses values outside the JSON data model', () => {
    for (const value of [10n, () => 1, Symbol('s'), new Date(0), new Map(), new Uint8Array(1)]) {
      expect(codeOf(() => canonicalize({ v: value }))).toBe('ERR_JCS_UNSUPPORTED_TYPE');
    }
    expect(codeOf(() => canonicalize(undefined))).toBe('ERR_JCS_UNSUPPORTED_TYPE');
  });

  it('takes no shortcut on input already in canonical order', () => {
    expect(codeOf(() => canonicalize({ a: 1, b: Number.NaN }))).toBe('ERR_JCS_NON_FINITE_NUMBER');
    expect(codeOf(() => canonicalize({ a: [1, undefined] }))).toBe('ERR_JCS_UNSUPPORTED_TYPE');
    expect(codeOf(() => canonicalize({ a: 'x\udfffy' }))).toBe('ERR_JCS_LONE_SURROGATE');
    expect(codeOf(() => canonicalize({ a: new Date(0) }))).toBe('ERR_JCS_UNSUPPORTED_TYPE');
    expect(codeOf(() => canonicalize({ a: 1, toJSON: () => ({}) }))).toBe('ERR_JCS_UNSUPPORTED_TYPE');
    expect(canonicalize({ a: '\\ud800', b: undefined, c: '😀' })).toBe('{"a":"\\\\ud800","c":"😀"}');
  });

  it('accepts objects without a prototype', () => {
    const bare = Object.assign(Object.create(null), { b: 2, a: 1 });
    expect(canonicalize(bare)).toBe('{"a":1,"b":2}');
  });

  it('refuses cycles and absurd nesting', () => {
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    expect(codeOf(() => canonicalize(loop))).toBe('ERR_JCS_CYCLE');
    let deep: unknown = 1;
    for (let i = 0; i < 300; i++) deep = [deep];
    expect(codeOf(() => canonicalize(deep))).toBe('ERR_JCS_TOO_DEEP');
  });

  it('names the JSON path of the refused value, as a 400', () => {
    try {
      canonicalize({ args: { 'x-y': [1, { n: Number.NaN }] } });
      expect.unreachable();
    } catch (e) {
      expect(e).toMatchObject({ status: 400, details: [{ path: '$.args["x-y"][1].n' }] });
      expect((e as Error).message).toContain('$.args["x-y"][1].n');
    }
  });

  it('canonicalizes any JSON identically whatever the member order and spacing', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer(), (value, seed) => {
        const canonical = canonicalize(value);
        const reordered = JSON.parse(JSON.stringify(shuffleKeys(value, seed), null, seed % 3));
        expect(canonicalize(reordered)).toBe(canonical);
        expect(canonicalize(JSON.parse(canonical))).toBe(canonical);
        expect(JSON.parse(canonical)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 500 },
    );
  });
  it('writes the same text whether the members arrive sorted or not, for any Unicode', () => {
    const outcome = (value: unknown) => {
      try {
        return canonicalize(value);
      } catch (e) {
        return (e as { code: string }).code;
      }
    };
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: 'binary' }), fc.integer(), (value, seed) => {
        const sorted = JSON.parse(JSON.stringify(value, (_, v) => (isPlainObject(v) ? sortMembers(v) : v)));
        expect(outcome(shuffleKeys(value, seed))).toBe(outcome(sorted));
      }),
      { numRuns: 500 },
    );
  });
});

/** Rebuild every object with its members in a pseudo-random order derived from `seed`. */
function shuffleKeys(value: unknown, seed: number): unknown {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v === null || typeof v !== 'object') return v;
    const entries = Object.entries(v);
    for (let i = entries.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [entries[i], entries[j]] = [entries[j]!, entries[i]!];
    }
    return Object.fromEntries(entries.map(([k, x]) => [k, walk(x)]));
  };
  return walk(value);
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** Same members, inserted in code-unit order (integer-like names still enumerate first). */
function sortMembers(v: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]));
}
