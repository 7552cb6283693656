import type { Kysely } from 'kysely';

/**
 * Operator console sessions: the browser holds a random session id in an HttpOnly cookie, the
 * server only its SHA-256. A session acts with one operator API token (pasted once, or issued by
 * single sign-on for the session) and carries the CSRF token every mutation must echo. Replicas
 * share the table, so any replica answers a signed-in browser; signing out deletes the row.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('console_sessions')
    .addColumn('id_hash', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('token_id', 'varchar(32)', (c) => c.notNull())
    .addColumn('csrf_token', 'varchar(64)', (c) => c.notNull())
    .addColumn('owns_token', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('expires_at', 'varchar(40)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('console_sessions_expires').on('console_sessions').column('expires_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('console_sessions_expires').execute();
  await db.schema.dropTable('console_sessions').execute();
}
