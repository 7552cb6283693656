import { describe, expect, it } from 'vitest';
import { nestsTooDeep, valueTooDeep } from './json-depth.ts';

describe('the JSON depth limit', () => {
  it('counts arrays and objects, and refuses one level past the limit', () => {
    expect(nestsTooDeep(`${'['.repeat(256)}${']'.repeat(256)}`)).toBe(false);
    expect(nestsTooDeep(`${'[{"a":'.repeat(128)}1${'}]'.repeat(128)}`)).toBe(false);
    expect(nestsTooDeep(`${'['.repeat(257)}${']'.repeat(257)}`)).toBe(true);
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    expect(nestsTooDeep(JSON.stringify({ text: '['.repeat(1000) }))).toBe(false);
    expect(nestsTooDeep(JSON.stringify({ text: `\\"${'{'.repeat(1000)}` }))).toBe(false);
    expect(nestsTooDeep(`["\\"", ${'['.repeat(300)}${']'.repeat(300)}]`)).toBe(true);
  });

  it('measures parsed values the same way, without recursing', () => {
    let value: unknown = 1;
    for (let i = 0; i < 256; i++) value = [value];
    expect(valueTooDeep(value)).toBe(false);
    expect(valueTooDeep({ a: value })).toBe(true);
    for (let i = 0; i < 100_000; i++) value = { a: value };
    expect(valueTooDeep(value)).toBe(true);
  });
});
