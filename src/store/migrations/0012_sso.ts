import type { Kysely } from 'kysely';

/**
 * Operator single sign-on: logins in flight between `GET /v1/login` and its callback. A row holds
 * the hash of the `state` the provider echoes back, the `nonce` the ID token must carry, the PKCE
 * verifier, and where the session goes (a CLI's loopback listener, or the caller itself). Rows
 * are single-use and short-lived; replicas share them, so any replica finishes a login.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('login_states')
    .addColumn('state_hash', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('nonce', 'varchar(128)', (c) => c.notNull())
    .addColumn('code_verifier', 'varchar(128)', (c) => c.notNull())
    .addColumn('return_to', 'text')
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('expires_at', 'varchar(40)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('login_states_expires').on('login_states').column('expires_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('login_states_expires').execute();
  await db.schema.dropTable('login_states').execute();
}
