import crypto from 'node:crypto';
import { z } from 'zod';
import { MandateError } from '../errors.ts';
import { adminTokensRepository } from '../store/repositories/admin-tokens.ts';
import type { Queryable } from '../store/store.ts';

/**
 * Admin API bearer tokens: `mdt_<id>.<secret>`, shown once, stored only as a SHA-256 hash
 * (the secret has 256 bits of entropy, so a plain hash is enough). Roles: `admin` (everything),
 * `auditor` (read-only), `approver` (approvals only).
 */
export const adminRoles = ['admin', 'auditor', 'approver'] as const;
export const adminRoleSchema = z.enum(adminRoles);
export type AdminRole = z.infer<typeof adminRoleSchema>;

export interface AdminPrincipal {
  tokenId: string;
  name: string;
  role: AdminRole;
}

const hashToken = (token: string) => crypto.createHash('sha256').update(token).digest('hex');
const TOKEN_PATTERN = /^mdt_([A-Za-z0-9_-]{11})\.([A-Za-z0-9_-]{43})$/;

export async function createAdminToken(
  db: Queryable,
  input: { name: string; role: AdminRole; now: Date },
): Promise<{ id: string; token: string }> {
  const id = crypto.randomBytes(8).toString('base64url');
  const token = `mdt_${id}.${crypto.randomBytes(32).toString('base64url')}`;
  await adminTokensRepository(db).insert({
    id,
    name: input.name,
    role: input.role,
    secret_hash: hashToken(token),
    created_at: input.now.toISOString(),
    revoked_at: null,
  });
  return { id, token };
}

export async function countAdminTokens(db: Queryable): Promise<number> {
  return adminTokensRepository(db).count();
}

const unauthorized = () =>
  new MandateError('ERR_UNAUTHENTICATED', 'a valid admin bearer token is required');

export async function authenticateAdmin(db: Queryable, token: string | undefined): Promise<AdminPrincipal> {
  const match = token ? TOKEN_PATTERN.exec(token) : null;
  if (!token || !match) throw unauthorized();
  const row = await adminTokensRepository(db).find(match[1]!);
  const expected = Buffer.from(row?.secret_hash ?? '0'.repeat(64), 'hex');
  const presented = Buffer.from(hashToken(token), 'hex');
  if (!row || row.revoked_at !== null || !crypto.timingSafeEqual(expected, presented)) throw unauthorized();
  return { tokenId: row.id, name: row.name, role: adminRoleSchema.parse(row.role) };
}
