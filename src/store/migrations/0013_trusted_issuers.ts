import type { Kysely } from 'kysely';

/**
 * Trusted issuers become managed: keys from OIDC discovery or a JWKS URI (fetched through the
 * address guard) beside the inline JWKS rows kept so far, several accepted audiences, an
 * algorithm allow-list and a claim mapping. Rows made before keep `source` inline and the legacy
 * single `audience`; their null `algorithms` mean the list they were verified with.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('trusted_issuers').addColumn('source', 'varchar(20)', (c) => c.notNull().defaultTo('inline')).execute();
  await db.schema.alterTable('trusted_issuers').addColumn('jwks_uri', 'varchar(2000)').execute();
  await db.schema.alterTable('trusted_issuers').addColumn('audiences', 'text').execute();
  await db.schema.alterTable('trusted_issuers').addColumn('algorithms', 'text').execute();
  await db.schema.alterTable('trusted_issuers').addColumn('claims', 'text').execute();
  await db.schema.alterTable('trusted_issuers').addColumn('allow_loopback', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('trusted_issuers').addColumn('created_by', 'varchar(200)').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const column of ['created_by', 'allow_loopback', 'claims', 'algorithms', 'audiences', 'jwks_uri', 'source']) {
    await db.schema.alterTable('trusted_issuers').dropColumn(column).execute();
  }
}
