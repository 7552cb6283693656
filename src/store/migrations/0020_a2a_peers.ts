import type { Kysely } from 'kysely';

/**
 * A2A peers: agents that speak the Agent2Agent protocol, fronted by Mandate at `/a2a/<name>`. The
 * spec (JSON) holds the peer's A2A endpoint, its agent card as the peer published it, and the
 * Mandate agent and instance that receive the derived mandate of each forwarded call.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('a2a_peers')
    .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('spec', 'text', (c) => c.notNull())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('a2a_peers').execute();
}
