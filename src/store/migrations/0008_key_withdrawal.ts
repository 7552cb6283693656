import type { Kysely } from 'kysely';

/**
 * Key withdrawal: a signing key can be revoked (a compromised key is refused at once, not kept
 * published until its tokens expire), and each mandate records the key that signed it so the
 * mandates of a withdrawn key can be revoked with their delegated children.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('signing_keys').addColumn('revoked_at', 'varchar(40)').execute();
  await db.schema.alterTable('mandates').addColumn('kid', 'varchar(64)').execute();
  await db.schema.createIndex('mandates_kid').on('mandates').column('kid').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('mandates_kid').execute();
  await db.schema.alterTable('mandates').dropColumn('kid').execute();
  await db.schema.alterTable('signing_keys').dropColumn('revoked_at').execute();
}
