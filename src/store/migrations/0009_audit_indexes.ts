import type { Kysely } from 'kysely';

/**
 * The audit table keeps only the indexes a query needs (issue 16): each one is another B-tree
 * every append writes. Kept: `(chain, seq)` (one seq per chain; chain queries and verification),
 * `time` (since/until), `(agent | instance | person | resource, leaf_index)` (the dimensions an
 * investigator names, DESIGN §1.8, in log order) and the partial `trace_id` and `args_digest`
 * indexes (point lookups that would otherwise read the whole log). Dropped: `(type, leaf_index)`.
 * `type` has a few dozen values, like `action`, `decision` and `status`, which never had an index:
 * a page of a common type is found by walking the log in order (PostgreSQL's planner already
 * preferred that to the index), and a rare type alone costs one pass over the log.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('audit_events_type').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('audit_events_type').on('audit_events').columns(['type', 'leaf_index']).execute();
}
