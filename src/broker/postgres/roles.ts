// RFC 5802 / RFC 7677 — SCRAM-SHA-256 verifiers; PostgreSQL CREATE ROLE / DROP ROLE for mandates
import crypto from 'node:crypto';
import type pg from 'pg';

/**
 * Each mandate that queries a database gets its own login role: `mandate_<24 hex>` (a hash of the
 * connection and the mandate's jti, so always a safe identifier), valid until the mandate
 * expires, holding only what the connection's grant template gives it. The agent's SQL runs in a
 * session *authenticated as* that role, not under `SET ROLE` on an admin session: from an admin
 * session, `RESET ROLE` or `set_config('role', …)` inside the agent's own statement would give the
 * admin's rights back.
 */
export const ROLE_NAME = /^mandate_[0-9a-f]{24}$/;

export function roleName(connection: string, jti: string): string {
  return `mandate_${crypto.createHash('sha256').update(`${connection}\n${jti}`).digest('hex').slice(0, 24)}`;
}

const quoteRole = (role: string) => {
  if (!ROLE_NAME.test(role)) throw new Error('not a mandate role name');
  return `"${role}"`;
};

/** The SCRAM verifier PostgreSQL stores, computed here so the clear password never reaches its logs. */
export function scramVerifier(password: string, salt = crypto.randomBytes(16), iterations = 4096): string {
  const salted = crypto.pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = crypto.createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = crypto.createHash('sha256').update(clientKey).digest();
  const serverKey = crypto.createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** Create the role and apply the grant template (`{{role}}` → the quoted role), in one transaction. */
export async function createRole(admin: pg.PoolClient, input: { role: string; password: string; validUntil: Date; grantTemplate: string }): Promise<void> {
  const role = quoteRole(input.role);
  const verifier = scramVerifier(input.password);
  await admin.query('BEGIN');
  try {
    await admin.query(
      `CREATE ROLE ${role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 4 ` +
        `PASSWORD '${verifier}' VALID UNTIL '${input.validUntil.toISOString()}'`,
    );
    await admin.query(input.grantTemplate.replaceAll('{{role}}', role));
    await admin.query('COMMIT');
  } catch (error) {
    await admin.query('ROLLBACK').catch(() => {});
    throw error;
  }
}

/** End the role's sessions, revoke what it was granted, drop what it owns, then drop it. Idempotent. */
export async function dropRole(admin: pg.PoolClient, roleText: string): Promise<void> {
  const role = quoteRole(roleText);
  const exists = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [roleText]);
  if (exists.rowCount === 0) return;
  // Best effort: without pg_signal_backend the sessions end when their pool closes.
  await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [roleText]).catch(() => {});
  await admin.query('BEGIN');
  try {
    await admin.query(`DROP OWNED BY ${role}`);
    await admin.query(`DROP ROLE ${role}`);
    await admin.query('COMMIT');
  } catch (error) {
    await admin.query('ROLLBACK').catch(() => {});
    throw error;
  }
}
