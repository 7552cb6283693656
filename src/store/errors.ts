import { MandateError } from '../errors.ts';

const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Did this error come from a database that cannot be reached right now (as opposed to a query it
 * refused)? PostgreSQL SQLSTATE class 08 (connection exception) and 57P01–57P03 (shutting down,
 * starting up), socket errors, and the pool's own connect/termination errors.
 */
export function isStoreUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (code.startsWith('08') || /^57P0[123]$/.test(code) || NETWORK.has(code))) return true;
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended unexpectedly/i.test(error.message);
}

export const storeUnavailable = (cause?: unknown) =>
  new MandateError('ERR_STORE_UNAVAILABLE', 'the database is not reachable; nothing was decided or forwarded', { expose: true, cause });

/** A write refused because a unique key is taken (PostgreSQL 23505, SQLite's UNIQUE/PRIMARY KEY constraint). */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
