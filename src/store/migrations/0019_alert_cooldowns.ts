import type { Kysely } from 'kysely';

/**
 * When each alert rule last raised for each subject (`<rule>:<subject>`): the cooldown is claimed
 * here with one conditional upsert, so replicas over one database raise an alert once, not once
 * each. Rows are few (rules × agents, sinks, replicas that ever raised).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('alert_cooldowns')
    .addColumn('rule_key', 'varchar(400)', (c) => c.primaryKey())
    .addColumn('raised_at', 'varchar(40)', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('alert_cooldowns').execute();
}
