import crypto from 'node:crypto';
import { MandateError } from '../errors.ts';
import { formatGrant, grantsOf, operatorRoles, type OperatorRole, type RoleGrant } from '../people/roles.ts';
import {
  countOperatorTokens,
  findOperator,
  findOperatorToken,
  insertOperatorToken,
  touchOperatorToken,
} from '../store/operators.ts';
import type { Queryable } from '../store/store.ts';

/**
 * Admin API bearer tokens: `mdt_<id>.<secret>`, shown once, stored only as a SHA-256 hash (the
 * secret has 256 bits of entropy, so a plain hash is enough). A token carries role grants
 * (`src/people/roles.ts`), may belong to an operator, may expire, and keeps its last use.
 */
export const adminRoles = operatorRoles;
export type AdminRole = OperatorRole;

export interface AdminPrincipal {
  tokenId: string;
  /** The token's name. */
  name: string;
  /** Who acts: the operator's subject when the token belongs to one, else the token's name. */
  person: string;
  operator: { subject: string; email: string } | null;
  grants: RoleGrant[];
  expiresAt: string | null;
  /** The names the caller goes by (subject, email, or the token name), for ownership checks. */
  identities: string[];
}

/** Last use is recorded at most this often per token, so reads stay reads. */
export const LAST_USE_EVERY_MS = 60_000;

const hashToken = (token: string) => crypto.createHash('sha256').update(token).digest('hex');
const TOKEN_PATTERN = /^mdt_([A-Za-z0-9_-]{11})\.([A-Za-z0-9_-]{43})$/;
export const TOKEN_ID = /^[A-Za-z0-9_-]{11}$/;

export async function createAdminToken(
  db: Queryable,
  input: { name: string; role?: AdminRole; grants?: RoleGrant[]; operator?: string | null; expiresAt?: Date | null; createdBy?: string | null; now: Date },
): Promise<{ id: string; token: string }> {
  const grants = input.grants ?? [{ role: input.role ?? 'admin' }];
  // 8 random bytes are 11 base64url characters, unless they start with a dash (readable as a flag).
  let id = crypto.randomBytes(8).toString('base64url');
  while (id.startsWith('-')) id = crypto.randomBytes(8).toString('base64url');
  const token = `mdt_${id}.${crypto.randomBytes(32).toString('base64url')}`;
  await insertOperatorToken(db, {
    id,
    name: input.name,
    roles: grants.map(formatGrant),
    operator: input.operator ?? null,
    secret_hash: hashToken(token),
    created_at: input.now.toISOString(),
    created_by: input.createdBy ?? null,
    expires_at: input.expiresAt ? input.expiresAt.toISOString() : null,
  });
  return { id, token };
}

export const countAdminTokens = countOperatorTokens;

const unauthorized = () =>
  new MandateError('ERR_UNAUTHENTICATED', 'a valid admin bearer token is required');

/** The caller behind a bearer token; unknown, revoked and expired tokens alike are one 401. */
export async function authenticateAdmin(db: Queryable, token: string | undefined, now: Date = new Date()): Promise<AdminPrincipal> {
  const match = token ? TOKEN_PATTERN.exec(token) : null;
  if (!token || !match) throw unauthorized();
  const row = await findOperatorToken(db, match[1]!);
  const expected = Buffer.from(row?.secret_hash ?? '0'.repeat(64), 'hex');
  const presented = Buffer.from(hashToken(token), 'hex');
  if (!row || !crypto.timingSafeEqual(expected, presented)) throw unauthorized();
  return principalOf(db, row, now);
}

/**
 * The caller behind a token the server already holds the id of (a console session's): refused
 * like a presented token once it is revoked, expired, or its operator removed.
 */
export async function authenticateAdminTokenId(db: Queryable, id: string, now: Date): Promise<AdminPrincipal> {
  const row = await findOperatorToken(db, id);
  if (!row) throw unauthorized();
  return principalOf(db, row, now);
}

async function principalOf(db: Queryable, row: NonNullable<Awaited<ReturnType<typeof findOperatorToken>>>, now: Date): Promise<AdminPrincipal> {
  if (row.revoked_at !== null || (row.expires_at !== null && row.expires_at <= now.toISOString())) throw unauthorized();
  const operator = row.operator === null ? undefined : await findOperator(db, row.operator);
  // A removed operator's tokens are revoked with it; one that outlived it is refused all the same.
  if (row.operator !== null && operator?.subject !== row.operator) throw unauthorized();
  await touchOperatorToken(db, row.id, now, LAST_USE_EVERY_MS);
  return {
    tokenId: row.id,
    name: row.name,
    person: operator?.subject ?? row.name,
    operator: operator ? { subject: operator.subject, email: operator.email } : null,
    grants: grantsOf(row.roles),
    expiresAt: row.expires_at,
    identities: operator ? [operator.subject, operator.email] : [row.name],
  };
}
