// RFC 9396 — OAuth 2.0 Rich Authorization Requests: the `mandate_record` authorization details type
import { z } from 'zod';
import { MandateError } from '../errors.ts';

/**
 * Record constraints narrow a mandate to the records a task needs ("customer 42's orders, nothing
 * else"). They are asked for at token exchange as one `authorization_details` entry (RFC 9396 §2)
 * of type `mandate_record`, carried in the mandate's `authorization_details` claim (§9.1), and
 * checked against the call's arguments at every enforcement point:
 *
 *   { "type": "mandate_record",
 *     "fields": { "customer_id": ["42"], "amount": { "max": 100 } },
 *     "required": ["customer_id"] }
 *
 * - a list: the field may only hold one of these values (compared as strings: `42` is `"42"`);
 * - `{ min?, max? }`: the field must be a number (or a numeric string) within the bounds;
 * - `required`: a call that does not carry the field is refused too.
 * A field is matched wherever it appears in the arguments (nested objects and arrays included),
 * so a constraint cannot be stepped around by moving the field down a level.
 */
export const RECORD_DETAIL_TYPE = 'mandate_record';

const fieldName = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'field names are 1..64 letters, digits, "_", "." or "-"');
const allowedValue = z.union([z.string().max(256), z.number().finite()]);
const range = z
  .strictObject({ min: z.number().finite().optional(), max: z.number().finite().optional() })
  .refine((r) => r.min !== undefined || r.max !== undefined, 'a range needs min or max')
  .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, 'min must not exceed max');

export const fieldConstraintSchema = z.union([z.array(allowedValue).min(1).max(100), range]);
export type FieldConstraint = z.infer<typeof fieldConstraintSchema>;

export const recordDetailSchema = z.strictObject({
  type: z.literal(RECORD_DETAIL_TYPE),
  fields: z.record(fieldName, fieldConstraintSchema).refine((f) => Object.keys(f).length > 0 && Object.keys(f).length <= 32, 'fields must name 1 to 32 constrained fields'),
  required: z.array(fieldName).max(32).optional(),
});
export type RecordConstraints = z.infer<typeof recordDetailSchema>;

const invalid = (message: string) => new MandateError('ERR_AUTHORIZATION_DETAILS_INVALID', message);

/** A `mandate_record` entry as asked for; `required` names only constrained fields. */
export function parseRecordDetail(entry: unknown): RecordConstraints {
  const parsed = recordDetailSchema.safeParse(entry);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw invalid(`authorization_details ${RECORD_DETAIL_TYPE}: ${issue.path.join('.') || 'entry'}: ${issue.message}`);
  }
  const detail = parsed.data;
  const unknown = detail.required?.find((name) => !Object.hasOwn(detail.fields, name));
  if (unknown) throw invalid(`authorization_details ${RECORD_DETAIL_TYPE}: required field ${unknown} has no constraint in fields`);
  return { type: RECORD_DETAIL_TYPE, fields: detail.fields, ...(detail.required?.length ? { required: [...new Set(detail.required)].sort() } : {}) };
}

/** The record constraints a mandate carries (its `authorization_details` claim), if any. */
export function recordsOf(claims: { authorization_details?: readonly unknown[] }): RecordConstraints | undefined {
  const entry = claims.authorization_details?.find((d) => (d as { type?: unknown } | null)?.type === RECORD_DETAIL_TYPE);
  return entry === undefined ? undefined : (entry as RecordConstraints);
}

const isRange = (c: FieldConstraint): c is { min?: number; max?: number } => !Array.isArray(c);

/**
 * RFC 9396 §6 leaves narrowing to the type: a child's constraints must be the parent's or
 * narrower. Every field the parent constrains stays constrained, a list only shrinks, a range only
 * tightens, and what the parent requires stays required. Asking for nothing keeps the parent's.
 * @throws MandateError `ERR_RECORD_EXCEEDS_PARENT` naming the field.
 */
export function narrowRecords(parent: RecordConstraints | undefined, asked: RecordConstraints | undefined): RecordConstraints | undefined {
  if (!parent) return asked;
  if (!asked) return parent;
  const wider = (field: string, why: string) => new MandateError('ERR_RECORD_EXCEEDS_PARENT', `record constraint on ${field} ${why}: a delegated mandate may only narrow its parent's`);
  for (const [field, limit] of Object.entries(parent.fields)) {
    const mine = asked.fields[field];
    if (mine === undefined) throw wider(field, 'is dropped');
    if (isRange(limit)) {
      if (!isRange(mine)) throw wider(field, 'changes from a range to a list');
      if (limit.max !== undefined && (mine.max === undefined || mine.max > limit.max)) throw wider(field, `raises max above ${limit.max}`);
      if (limit.min !== undefined && (mine.min === undefined || mine.min < limit.min)) throw wider(field, `lowers min below ${limit.min}`);
    } else {
      if (isRange(mine)) throw wider(field, 'changes from a list to a range');
      const allowed = new Set(limit.map(String));
      const extra = mine.find((v) => !allowed.has(String(v)));
      if (extra !== undefined) throw wider(field, 'allows a value its parent does not');
    }
  }
  const missing = parent.required?.find((field) => !asked.required?.includes(field));
  if (missing) throw wider(missing, 'is no longer required');
  return asked;
}

/** Why a call's arguments fall outside the constraints: the field, never its value. */
export interface RecordBreach {
  field: string;
  reason: string;
}

const MAX_DEPTH = 32;

/**
 * The first field of `args` outside the constraints, or null when every occurrence of every
 * constrained field is within them (and every required field is present).
 */
export function recordBreach(constraints: RecordConstraints, args: Readonly<Record<string, unknown>>): RecordBreach | null {
  const seen = new Map<string, unknown[]>();
  for (const field of Object.keys(constraints.fields)) seen.set(field, []);
  if (!collect(args, seen, 0)) return { field: '(arguments)', reason: `nested deeper than ${MAX_DEPTH} levels` };
  for (const [field, values] of seen) {
    const rule = constraints.fields[field]!;
    if (values.length === 0 && constraints.required?.includes(field)) return { field, reason: 'is required by the mandate and missing' };
    for (const value of values) {
      const reason = isRange(rule) ? outOfRange(rule, value) : notListed(rule, value);
      if (reason) return { field, reason };
    }
  }
  return null;
}

function collect(value: unknown, seen: Map<string, unknown[]>, depth: number): boolean {
  if (depth > MAX_DEPTH) return false;
  if (Array.isArray(value)) return value.every((item) => collect(item, seen, depth + 1));
  if (value === null || typeof value !== 'object') return true;
  for (const [key, inner] of Object.entries(value)) {
    const values = seen.get(key);
    if (values) values.push(...(Array.isArray(inner) ? inner : [inner]));
    if (!collect(inner, seen, depth + 1)) return false;
  }
  return true;
}

function notListed(allowed: readonly (string | number)[], value: unknown): string | null {
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return 'is not a plain value';
  return allowed.some((a) => String(a) === String(value)) ? null : 'names a record outside the mandate';
}

function outOfRange(range: { min?: number; max?: number }, value: unknown): string | null {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d{1,15}(\.\d{1,15})?$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isFinite(n)) return 'is not a number';
  if (range.max !== undefined && n > range.max) return `is above ${range.max}`;
  if (range.min !== undefined && n < range.min) return `is below ${range.min}`;
  return null;
}
