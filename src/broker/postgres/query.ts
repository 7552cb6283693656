import type pg from 'pg';
import { scrubSecrets } from '../../audit/redact.ts';
import { MandateError } from '../../errors.ts';

/**
 * One agent statement, run as the mandate's role: in its own transaction, with a statement
 * timeout set locally (the agent cannot lift it for later calls), through the extended protocol
 * (one statement per call: `;`-chained commands are refused by PostgreSQL itself).
 */
export interface QueryResult {
  command: string;
  row_count: number | null;
  fields: string[];
  rows: Array<Record<string, unknown>>;
  truncated: boolean;
}

export async function runQuery(pool: pg.Pool, sql: string, params: unknown[], limits: { timeoutMs: number; maxRows: number }): Promise<QueryResult> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL statement_timeout = ${Math.floor(limits.timeoutMs)}`);
    const result = await client.query({ text: sql, values: params, queryMode: 'extended' } as pg.QueryConfig);
    await client.query('COMMIT');
    const rows = (result.rows ?? []) as Array<Record<string, unknown>>;
    return {
      command: result.command,
      row_count: result.rowCount,
      fields: (result.fields ?? []).map((f) => f.name),
      rows: rows.slice(0, limits.maxRows),
      truncated: rows.length > limits.maxRows,
    };
  } catch (error) {
    await client.query('ROLLBACK').catch((e: Error) => (broken = e));
    throw error;
  } finally {
    client.release(broken);
  }
}

const SHOWN = /^(?:42|22|23|25|2B|0A|21|44)/;

/**
 * A database error as the agent sees it: SQLSTATE classes about the statement itself (syntax,
 * privileges, data) keep PostgreSQL's one-line message, which names only what the agent wrote;
 * everything else (connection, authentication, resources, internals) becomes a generic 502.
 * DETAIL, HINT, WHERE and positions are never returned.
 */
export function databaseError(error: unknown, secrets: readonly string[]): MandateError {
  const e = error as { code?: unknown; message?: unknown };
  const state = typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : '';
  const message = scrubSecrets(String(e.message ?? '').split('\n')[0]!.slice(0, 300), secrets);
  if (state === '42501') return new MandateError('ERR_DB_PERMISSION_DENIED', `${message} (the mandate's role was not granted this)`, { expose: true });
  if (state === '25006') return new MandateError('ERR_DB_PERMISSION_DENIED', message, { expose: true });
  if (state === '57014') return new MandateError('ERR_DB_TIMEOUT', 'the statement ran past the connection timeout and was cancelled', { expose: true });
  if (SHOWN.test(state)) return new MandateError('ERR_DB_QUERY_INVALID', `${message} (SQLSTATE ${state})`, { expose: true });
  return new MandateError('ERR_DB_UNAVAILABLE', 'the database could not run the statement', { expose: true });
}
