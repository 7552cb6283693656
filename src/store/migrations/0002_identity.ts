import type { Kysely } from 'kysely';

/** Join tokens, attested instances, issued mandates (for introspection and cascade revocation), DPoP replay cache. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('join_tokens')
    .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
    .addColumn('agent_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('secret_hash', 'varchar(64)', (c) => c.notNull())
    .addColumn('uses_left', 'integer', (c) => c.notNull())
    .addColumn('expires_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('instances')
    .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
    .addColumn('agent_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('spiffe_id', 'varchar(400)', (c) => c.notNull())
    .addColumn('jkt', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('public_jwk', 'text', (c) => c.notNull())
    .addColumn('claims', 'text', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('revoked_at', 'varchar(40)')
    .execute();
  await db.schema.createIndex('instances_agent').on('instances').column('agent_id').execute();

  await db.schema
    .createTable('mandates')
    .addColumn('jti', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('parent_jti', 'varchar(64)')
    .addColumn('instance_id', 'varchar(32)', (c) => c.notNull())
    .addColumn('agent_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('sub', 'varchar(400)', (c) => c.notNull())
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('aud', 'varchar(400)', (c) => c.notNull())
    .addColumn('budget', 'double precision', (c) => c.notNull())
    .addColumn('depth', 'integer', (c) => c.notNull())
    .addColumn('task_id', 'varchar(200)')
    .addColumn('issued_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('expires_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('revoked_at', 'varchar(40)')
    .execute();
  await db.schema.createIndex('mandates_parent').on('mandates').column('parent_jti').execute();
  await db.schema.createIndex('mandates_instance').on('mandates').column('instance_id').execute();

  await db.schema
    .createTable('dpop_replay')
    .addColumn('key', 'varchar(100)', (c) => c.primaryKey())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('trusted_issuers')
    .addColumn('issuer', 'varchar(400)', (c) => c.primaryKey())
    .addColumn('audience', 'varchar(400)')
    .addColumn('jwks', 'text', (c) => c.notNull())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['trusted_issuers', 'dpop_replay', 'mandates', 'instances', 'join_tokens']) {
    await db.schema.dropTable(table).execute();
  }
}
