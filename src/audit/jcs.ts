// RFC 8785 — JSON Canonicalization Scheme (JCS)
import { type ErrorCode, MandateError } from '../errors.ts';
import { MAX_JSON_DEPTH } from '../json-depth.ts';

/**
 * The JSON data model JCS works on (RFC 8785 §3.1: I-JSON, RFC 7493). Object members whose value
 * is `undefined` are left out, as `JSON.stringify` does; anything else outside this model throws.
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

const MAX_DEPTH = MAX_JSON_DEPTH;
// With the `u` flag a surrogate pair is one code point, so only lone surrogates match.
const LONE_SURROGATE = /\p{Cs}/u;
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
/** Serialized member names; audit events reuse a few dozen names millions of times. */
const quotedNames = new Map<string, string>();
const MAX_QUOTED_NAMES = 4096;

/**
 * Serialize `value` as its canonical JSON text: members sorted by the UTF-16 code units of their
 * names (§3.2.3), numbers in ECMAScript form (§3.2.2.3), strings escaped as in §3.2.2.2, no
 * whitespace. The UTF-8 encoding of the result is what gets hashed or signed (§3.2.4).
 *
 * @throws MandateError `ERR_JCS_*` (status 400) naming the JSON path of the offending value.
 * @see https://www.rfc-editor.org/rfc/rfc8785#section-3.2
 */
export function canonicalize(value: unknown): string {
  // Fast path. RFC 8785 adopts ECMAScript's own number and string serialization, so for a value
  // that is plain JSON with members already in canonical order (what a store hands back after
  // saving canonical text) the engine's JSON.stringify writes exactly the JCS text. Well-formed
  // JSON.stringify escapes a lone surrogate as `\udXXX`: no `\ud` in the output, none in the input.
  if (isOrderedJson(value, 0)) {
    const text = JSON.stringify(value);
    if (!text.includes('\\ud')) return text;
  }
  try {
    return serialize(value, 0, []);
  } catch (e) {
    if (!(e instanceof Refusal)) throw e;
    const path = `$${e.path.reverse().join('')}`;
    throw new MandateError(e.code, `cannot canonicalize ${path}: ${e.reason}`, {
      details: [{ path, message: e.reason }],
    });
  }
}

/** True when JSON.stringify(value) is already canonical, lone surrogates aside. */
function isOrderedJson(value: unknown, depth: number): boolean {
  if (typeof value !== 'object') {
    return typeof value === 'number' ? Number.isFinite(value) : typeof value === 'string' || typeof value === 'boolean';
  }
  if (value === null) return true;
  if (depth >= MAX_DEPTH) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      if (item === undefined || !isOrderedJson(item, depth + 1)) return false;
    }
    return true;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  let previous: string | undefined;
  const record = value as Record<string, unknown>;
  for (const name in record) {
    if (previous !== undefined && previous > name) return false;
    previous = name;
    const member = record[name];
    if (member !== undefined && !isOrderedJson(member, depth + 1)) return false;
  }
  return true;
}

/** Internal carrier that collects the JSON path while the error unwinds. */
class Refusal {
  readonly code: ErrorCode;
  readonly reason: string;
  readonly path: string[] = [];
  constructor(code: ErrorCode, reason: string) {
    this.code = code;
    this.reason = reason;
  }
}

function serialize(value: unknown, depth: number, ancestors: object[]): string {
  switch (typeof value) {
    case 'string':
      return serializeString(value);
    case 'number':
      if (!Number.isFinite(value)) throw new Refusal('ERR_JCS_NON_FINITE_NUMBER', `${value} is not a JSON number`);
      // ECMAScript Number::toString is the serialization §3.2.2.3 mandates; it prints -0 as "0".
      return `${value}`;
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (value === null) return 'null';
      if (depth >= MAX_DEPTH) throw new Refusal('ERR_JCS_TOO_DEEP', `nesting deeper than ${MAX_DEPTH}`);
      if (ancestors.includes(value)) throw new Refusal('ERR_JCS_CYCLE', 'value contains itself');
      ancestors.push(value);
      try {
        return Array.isArray(value)
          ? serializeArray(value, depth + 1, ancestors)
          : serializeObject(value, depth + 1, ancestors);
      } finally {
        ancestors.pop();
      }
    default:
      throw new Refusal('ERR_JCS_UNSUPPORTED_TYPE', `${typeof value} is not a JSON value`);
  }
}

/** §3.2.2.2: printable ASCII other than `"` and `\` goes as is; JSON.stringify escapes the rest. */
function serializeString(value: string): string {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7e) {
      if (LONE_SURROGATE.test(value)) throw new Refusal('ERR_JCS_LONE_SURROGATE', 'string has a lone surrogate');
      return JSON.stringify(value);
    }
  }
  return `"${value}"`;
}

function serializeArray(value: unknown[], depth: number, ancestors: object[]): string {
  let out = '[';
  for (let i = 0; i < value.length; i++) {
    try {
      const item = value[i];
      if (item === undefined) throw new Refusal('ERR_JCS_UNSUPPORTED_TYPE', 'undefined in an array');
      out += i === 0 ? serialize(item, depth, ancestors) : `,${serialize(item, depth, ancestors)}`;
    } catch (e) {
      throw at(e, `[${i}]`);
    }
  }
  return `${out}]`;
}

function serializeObject(value: object, depth: number, ancestors: object[]): string {
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    const name = (value.constructor as { name?: string } | undefined)?.name ?? 'object';
    throw new Refusal('ERR_JCS_UNSUPPORTED_TYPE', `${name} is not a plain JSON object`);
  }
  const record = value as Record<string, unknown>;
  // Array.prototype.sort compares UTF-16 code units, the order §3.2.3 prescribes.
  const names = Object.keys(record).sort();
  let out = '{';
  for (const name of names) {
    const member = record[name];
    if (member === undefined) continue;
    try {
      out += `${out.length === 1 ? '' : ','}${quotedName(name)}:${serialize(member, depth, ancestors)}`;
    } catch (e) {
      throw at(e, IDENTIFIER.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`);
    }
  }
  return `${out}}`;
}

function quotedName(name: string): string {
  let quoted = quotedNames.get(name);
  if (quoted === undefined) {
    quoted = serializeString(name);
    if (quotedNames.size < MAX_QUOTED_NAMES) quotedNames.set(name, quoted);
  }
  return quoted;
}

function at(e: unknown, segment: string): unknown {
  if (e instanceof Refusal) e.path.push(segment);
  return e;
}
