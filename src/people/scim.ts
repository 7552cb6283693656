// RFC 7643 (SCIM core schema: User, enterprise extension) and RFC 7644 (SCIM protocol: filters,
// PATCH, errors) — the persons an enterprise identity provider provisions into Mandate.
import { z } from 'zod';
import { MandateError } from '../errors.ts';
import type { PersonRow } from '../store/repositories/persons.ts';

export const SCIM_CONTENT_TYPE = 'application/scim+json';
export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** RFC 7644 §3.12 `scimType` of each SCIM refusal (status comes from the catalogue). */
export const SCIM_TYPES: Readonly<Record<string, string | undefined>> = {
  ERR_SCIM_INVALID_VALUE: 'invalidValue',
  ERR_SCIM_INVALID_SYNTAX: 'invalidSyntax',
  ERR_SCIM_INVALID_FILTER: 'invalidFilter',
  ERR_SCIM_INVALID_PATH: 'invalidPath',
  ERR_SCIM_UNIQUENESS: 'uniqueness',
};

/** RFC 7644 §3.12: the error body, `status` as a string. */
export const scimErrorBody = (status: number, detail: string, scimType?: string) => ({ schemas: [ERROR_SCHEMA], status: String(status), ...(scimType ? { scimType } : {}), detail });

const invalid = (detail: string) => new MandateError('ERR_SCIM_INVALID_VALUE', detail);

/** Entra sends booleans as "True"/"False" in PATCH values. */
const scimBoolean = z.union([z.boolean(), z.enum(['true', 'false', 'True', 'False', 'TRUE', 'FALSE'])]).transform((v) => v === true || (typeof v === 'string' && v.toLowerCase() === 'true'));

const text = z.string().max(1024);
const userSchema = z.looseObject({
  schemas: z.array(z.string().max(200)).max(10).refine((s) => s.includes(USER_SCHEMA), `schemas must include ${USER_SCHEMA}`),
  userName: z.string().trim().min(1).max(320),
  externalId: text.nullish(),
  displayName: text.nullish(),
  active: scimBoolean.optional(),
  name: z.looseObject({ formatted: text.nullish(), givenName: text.nullish(), familyName: text.nullish() }).nullish(),
  emails: z.array(z.looseObject({ value: z.string().max(320), type: text.nullish(), primary: scimBoolean.nullish() })).max(20).nullish(),
  [ENTERPRISE_SCHEMA]: z.looseObject({ manager: z.union([z.string().max(320), z.looseObject({ value: z.string().max(320).nullish() })]).nullish() }).nullish(),
});

/** A User resource as stored: what the IdP sent, without server-assigned or write-only attributes. */
export type UserResource = Record<string, unknown> & { userName: string };

/** Validate a User resource (POST, PUT, or the result of a PATCH); `password` is write-only and never kept. */
export function parseUser(input: unknown): UserResource {
  const parsed = userSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw invalid(`${issue.path.join('.') || 'resource'}: ${issue.message}`);
  }
  const { id: _id, meta: _meta, password: _password, ...resource } = input as Record<string, unknown>;
  // Keep the coerced active flag (Entra's "False") as a boolean.
  return { ...resource, userName: parsed.data.userName, ...(parsed.data.active === undefined ? {} : { active: parsed.data.active }) } as UserResource;
}

/** The columns a resource fills. */
export function columnsOf(resource: UserResource): Pick<PersonRow, 'user_name' | 'external_id' | 'email' | 'display_name' | 'manager' | 'active' | 'resource'> {
  const parsed = userSchema.parse(resource);
  const emails = parsed.emails ?? [];
  const email = (emails.find((e) => e.primary === true) ?? emails.find((e) => e.type === 'work') ?? emails[0])?.value ?? null;
  const manager = parsed[ENTERPRISE_SCHEMA]?.manager;
  const name = parsed.name;
  const displayName = parsed.displayName ?? (name?.formatted || [name?.givenName, name?.familyName].filter(Boolean).join(' ') || null);
  return {
    user_name: parsed.userName,
    external_id: parsed.externalId ?? null,
    email: email?.toLowerCase() ?? null,
    display_name: displayName,
    manager: (typeof manager === 'string' ? manager : manager?.value) || null,
    active: parsed.active === false ? 0 : 1,
    resource: JSON.stringify(resource),
  };
}

/** The resource as a SCIM client reads it back (RFC 7643 §3.1 `id`, `meta`). */
export function userOf(row: PersonRow, baseUrl: string) {
  const stored = JSON.parse(row.resource) as Record<string, unknown>;
  return {
    ...stored,
    schemas: [...new Set([USER_SCHEMA, ...((stored.schemas as string[] | undefined) ?? [])])],
    id: row.id,
    userName: row.user_name,
    active: row.active === 1,
    meta: { resourceType: 'User', created: row.created_at, lastModified: row.updated_at, location: `${baseUrl}/scim/v2/Users/${row.id}`, version: etagOf(row) },
  };
}

export const etagOf = (row: Pick<PersonRow, 'version'>) => `W/"${row.version}"`;

/** RFC 7644 §3.4.2.2, the subset identity providers send: `userName eq "…"` or `externalId eq "…"`. */
export function parseFilter(filter: string | undefined): { attribute: 'userName' | 'externalId'; value: string } | undefined {
  if (filter === undefined || filter.trim() === '') return undefined;
  const match = /^\s*(userName|externalId)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$/i.exec(filter);
  if (!match) throw new MandateError('ERR_SCIM_INVALID_FILTER', 'only userName eq "…" and externalId eq "…" filters are supported');
  const attribute = match[1]!.toLowerCase() === 'username' ? 'userName' : 'externalId';
  return { attribute, value: JSON.parse(`"${match[2]}"`) as string };
}

const patchSchema = z.looseObject({
  schemas: z.array(z.string()).refine((s) => s.includes(PATCH_SCHEMA), `schemas must include ${PATCH_SCHEMA}`),
  Operations: z
    .array(z.looseObject({ op: z.string().transform((s) => s.toLowerCase()).pipe(z.enum(['add', 'replace', 'remove'])), path: z.string().max(512).optional(), value: z.unknown().optional() }))
    .min(1)
    .max(100),
});

const ATTR = /^[A-Za-z][A-Za-z0-9_$-]*$/;

/** A PATCH path: `[urn:…:]attr[.sub]` or `attr[type eq "x"].sub` (RFC 7644 §3.5.2). */
function parsePath(path: string): { urn?: string; attr: string; filter?: { attr: string; value: string }; sub?: string } {
  let rest = path;
  let urn: string | undefined;
  if (rest.toLowerCase().startsWith(ENTERPRISE_SCHEMA.toLowerCase() + ':')) {
    urn = ENTERPRISE_SCHEMA;
    rest = rest.slice(ENTERPRISE_SCHEMA.length + 1);
  } else if (rest.toLowerCase().startsWith(USER_SCHEMA.toLowerCase() + ':')) {
    rest = rest.slice(USER_SCHEMA.length + 1);
  }
  const match = /^([A-Za-z][A-Za-z0-9_$-]*)(?:\[\s*([A-Za-z]+)\s+eq\s+"([^"]*)"\s*\])?(?:\.([A-Za-z][A-Za-z0-9_$-]*))?$/.exec(rest);
  if (!match) throw new MandateError('ERR_SCIM_INVALID_PATH', `the PATCH path ${JSON.stringify(path.slice(0, 80))} is not supported`);
  return { ...(urn ? { urn } : {}), attr: match[1]!, ...(match[2] ? { filter: { attr: match[2], value: match[3]! } } : {}), ...(match[4] ? { sub: match[4] } : {}) };
}

/** Attribute names are case-insensitive (RFC 7643 §2.1): the key already used, else the name given. */
const keyIn = (object: Record<string, unknown>, name: string) => Object.keys(object).find((k) => k.toLowerCase() === name.toLowerCase()) ?? name;

function setPath(resource: Record<string, unknown>, path: string, value: unknown, remove: boolean): void {
  const p = parsePath(path);
  const target = p.urn ? ((resource[p.urn] ??= {}) as Record<string, unknown>) : resource;
  const attr = keyIn(target, p.attr);
  if (p.filter) {
    const list = Array.isArray(target[attr]) ? (target[attr] as Array<Record<string, unknown>>) : [];
    let item = list.find((entry) => String(entry[keyIn(entry, p.filter!.attr)]) === p.filter!.value);
    if (remove && !p.sub) {
      target[attr] = list.filter((entry) => entry !== item);
      return;
    }
    if (!item) {
      item = { [p.filter.attr]: p.filter.value };
      list.push(item);
    }
    target[attr] = list;
    if (p.sub) {
      if (remove) delete item[keyIn(item, p.sub)];
      else item[keyIn(item, p.sub)] = value;
    } else if (value && typeof value === 'object') Object.assign(item, value);
    return;
  }
  if (p.sub) {
    const parent = (target[attr] && typeof target[attr] === 'object' ? target[attr] : (target[attr] = {})) as Record<string, unknown>;
    if (remove) delete parent[keyIn(parent, p.sub)];
    else parent[keyIn(parent, p.sub)] = value;
    return;
  }
  if (remove) delete target[attr];
  // Entra sends the manager as a bare id; the schema's manager is a complex attribute.
  else if (p.urn === ENTERPRISE_SCHEMA && attr.toLowerCase() === 'manager' && typeof value === 'string') target[attr] = { value };
  else target[attr] = value;
}

/** Apply a PatchOp to a stored resource (RFC 7644 §3.5.2); the result is validated as a whole. */
export function applyPatch(resource: UserResource, body: unknown): UserResource {
  const parsed = patchSchema.safeParse(body);
  if (!parsed.success) throw new MandateError('ERR_SCIM_INVALID_SYNTAX', `not a PatchOp: ${parsed.error.issues[0]!.path.join('.') || 'body'}: ${parsed.error.issues[0]!.message}`);
  const next = structuredClone(resource) as Record<string, unknown>;
  for (const op of parsed.data.Operations) {
    if (op.path === undefined) {
      // No path: the value is an object of attributes to add or replace (Okta's deactivation).
      if (op.op === 'remove' || !op.value || typeof op.value !== 'object' || Array.isArray(op.value)) throw new MandateError('ERR_SCIM_INVALID_SYNTAX', `${op.op} without a path needs an object value`);
      for (const [key, value] of Object.entries(op.value as Record<string, unknown>)) {
        if (key.startsWith('urn:') && key.toLowerCase() !== ENTERPRISE_SCHEMA.toLowerCase() && !key.toLowerCase().startsWith(`${ENTERPRISE_SCHEMA.toLowerCase()}:`)) continue;
        if (key.toLowerCase() === ENTERPRISE_SCHEMA.toLowerCase() && value && typeof value === 'object') {
          for (const [sub, v] of Object.entries(value as Record<string, unknown>)) setPath(next, `${ENTERPRISE_SCHEMA}:${sub}`, v, false);
        } else if (ATTR.test(key) || key.toLowerCase().startsWith(`${ENTERPRISE_SCHEMA.toLowerCase()}:`)) setPath(next, key, value, false);
        else throw new MandateError('ERR_SCIM_INVALID_PATH', `the attribute ${JSON.stringify(key.slice(0, 80))} is not supported`);
      }
    } else {
      setPath(next, op.path, op.value, op.op === 'remove');
    }
  }
  if ('password' in next) delete next.password;
  return parseUser(next);
}
