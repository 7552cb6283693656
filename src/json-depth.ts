import { MandateError } from './errors.ts';

/**
 * How deeply JSON may nest anywhere Mandate reads it: request bodies on every HTTP endpoint, and
 * the canonical form (RFC 8785) of what gets hashed, signed or digested. Past it a request is a
 * 400 `ERR_JSON_TOO_DEEP`, found by scanning the text before any parser or validator recurses.
 */
export const MAX_JSON_DEPTH = 256;

export const jsonTooDeep = () => new MandateError('ERR_JSON_TOO_DEEP', `JSON nested deeper than ${MAX_JSON_DEPTH} levels is refused`);

/** True when the text's arrays and objects nest deeper than `max` (brackets inside strings do not count). */
export function nestsTooDeep(text: string, max = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** The same limit for a value parsed from another syntax (YAML), walked without recursion. */
export function valueTooDeep(value: unknown, max = MAX_JSON_DEPTH): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (item === null || typeof item !== 'object') continue;
    if (depth + 1 > max) return true;
    for (const member of Object.values(item)) stack.push([member, depth + 1]);
  }
  return false;
}
