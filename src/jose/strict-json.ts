// RFC 7515 §4 / RFC 7519 §4 — JOSE headers and JWT claims sets with unique member names

/**
 * Why reject instead of "last one wins": two parsers that resolve a duplicate differently read
 * two different tokens from one signature. RFC 7515 §4 and RFC 7519 §4 let a parser reject.
 */
export type JsonObjectResult =
  | { ok: true; value: Record<string, unknown> }
  | { ok: false; reason: 'malformed' }
  | { ok: false; reason: 'duplicate'; member: string };

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Strict UTF-8 (RFC 8259 §8.1: no BOM), one JSON object, no duplicate member at any depth. */
export function parseJsonObject(bytes: Uint8Array): JsonObjectResult {
  let text: string;
  let value: unknown;
  try {
    text = utf8.decode(bytes);
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, reason: 'malformed' };
  const member = findDuplicateMember(text);
  if (member !== undefined) return { ok: false, reason: 'duplicate', member };
  return { ok: true, value: value as Record<string, unknown> };
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const COLON = 0x3a;

/**
 * Scans text that JSON.parse already accepted and returns the first member name repeated within
 * one object, compared after unescaping (`"a"` and `"\u0061"` are the same name). Iterative, so
 * nesting depth cannot exhaust the stack.
 */
export function findDuplicateMember(text: string): string | undefined {
  const objects: Array<Set<string> | undefined> = [];
  let previous = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      let end = i + 1;
      while (end < text.length && text.charCodeAt(end) !== QUOTE) end += text.charCodeAt(end) === BACKSLASH ? 2 : 1;
      const names = objects[objects.length - 1];
      if (names && (previous === LBRACE || previous === COMMA)) {
        const raw = text.slice(i + 1, end);
        const name = raw.includes('\\') ? (JSON.parse(text.slice(i, end + 1)) as string) : raw;
        if (names.has(name)) return name;
        names.add(name);
      }
      previous = QUOTE;
      i = end;
    } else if (c === LBRACE) {
      objects.push(new Set());
      previous = c;
    } else if (c === LBRACKET) {
      objects.push(undefined);
      previous = c;
    } else if (c === RBRACE || c === RBRACKET) {
      objects.pop();
      previous = c;
    } else if (c === COMMA || c === COLON) {
      previous = c;
    }
  }
  return undefined;
}
