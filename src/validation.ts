import type { z } from 'zod';
import { MandateError } from './errors.ts';

/**
 * Boundary validation: parse with zod or throw a 400 `ERR_VALIDATION` naming each field and the
 * reason. The message lists the first problem so a CLI user sees it without reading details.
 */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  input: unknown,
  what: string,
  pathPrefix = '',
): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const details = result.error.issues.map((issue) => ({
    path: formatPath(pathPrefix, issue.path),
    message: issue.message,
  }));
  const first = details[0]!;
  const where = first.path ? `${first.path}: ` : '';
  throw new MandateError('ERR_VALIDATION', `invalid ${what}: ${where}${first.message}`, {
    details,
  });
}

function formatPath(prefix: string, path: ReadonlyArray<PropertyKey>): string {
  let out = prefix;
  for (const part of path) {
    out += typeof part === 'number' ? `[${part}]` : `${out ? '.' : ''}${String(part)}`;
  }
  return out;
}

/**
 * Why an identifier a decision is asked about (agent, instance, tool, server, connection, endpoint,
 * person) is not in its one canonical form, or null when it is. Refused, never repaired: two
 * spellings of one name must not reach two different decisions (or one decision and another
 * upstream). Control characters include the invisible format ones (bidi overrides, zero-width
 * characters, BOM) and line separators; the form is Unicode NFC without surrounding whitespace.
 */
export function identifierProblem(value: string): string | null {
  if (/\p{Cs}/u.test(value)) return 'has an unpaired surrogate';
  if (/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(value)) return 'has control or invisible format characters';
  if (value !== value.trim()) return 'has leading or trailing whitespace';
  if (value !== value.normalize('NFC')) return 'is not in Unicode normalization form C';
  return null;
}

/** @throws MandateError `ERR_IDENTIFIER_NOT_CANONICAL` (400) naming the field, never echoing the value raw. */
export function checkIdentifier(value: string, field: string): string {
  const problem = identifierProblem(value);
  if (problem) throw new MandateError('ERR_IDENTIFIER_NOT_CANONICAL', `${field} ${problem}; identifiers are refused unless in their canonical form`);
  return value;
}
