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
