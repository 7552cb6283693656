/**
 * A call's arguments as the value of `context.args`, typed by the `Args` fragment (args-schema.ts).
 * Only declared fields whose value fits their type are handed to Cedar; anything else is left out,
 * so `context.args has amount` is false for an amount that is not a number. A query parameter or
 * form field arrives as a string: one that spells a number or a boolean is read as one where the
 * fragment says so. A field given more than once (an array where one value is declared) is left
 * out: Cedar must not pick one of them.
 */
import type { CedarValueJson } from '@cedar-policy/cedar-wasm/nodejs';
import type { ArgsRecord, ArgType } from './args-schema.ts';

const LONG = /^-?\d{1,18}$/;
const DECIMAL = /^-?\d{1,15}(\.\d{1,4})?$/;
const MAX_LONG = 2n ** 63n - 1n;

export function argsValue(args: Readonly<Record<string, unknown>>, attrs: ArgsRecord): Record<string, CedarValueJson> {
  const out: Record<string, CedarValueJson> = {};
  for (const [name, type] of attrs) {
    if (!Object.hasOwn(args, name)) continue;
    const value = valueOf(args[name], type);
    if (value !== undefined) out[name] = value;
  }
  return out;
}

function valueOf(value: unknown, type: ArgType): CedarValueJson | undefined {
  switch (type.kind) {
    case 'String':
      return typeof value === 'string' ? value : undefined;
    case 'Bool':
      return typeof value === 'boolean' ? value : value === 'true' ? true : value === 'false' ? false : undefined;
    case 'Long': {
      const text = typeof value === 'number' ? (Number.isSafeInteger(value) ? String(value) : '') : typeof value === 'string' ? value : '';
      if (!LONG.test(text)) return undefined;
      const n = BigInt(text);
      return n <= MAX_LONG && n >= -MAX_LONG - 1n && Number.isSafeInteger(Number(n)) ? Number(n) : undefined;
    }
    case 'decimal': {
      // Cedar decimals hold four decimal places: a value that needs more is left out, never rounded.
      const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : typeof value === 'string' ? value : '';
      if (!DECIMAL.test(text)) return undefined;
      return { __extn: { fn: 'decimal', arg: text.includes('.') ? text : `${text}.0` } };
    }
    case 'Set': {
      if (!Array.isArray(value) || value.length > 1000) return undefined;
      const items = value.map((item) => valueOf(item, type.of));
      return items.every((item) => item !== undefined) ? (items as CedarValueJson[]) : undefined;
    }
    case 'Record':
      return value !== null && typeof value === 'object' && !Array.isArray(value) ? argsValue(value as Record<string, unknown>, type.attrs) : undefined;
  }
}
