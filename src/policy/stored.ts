/**
 * The running policy set in the database: every replica decides with the newest row, and an apply
 * on any replica reaches the others as a `policy.applied` change.
 */
import type { Queryable } from '../store/store.ts';
import type { PolicySource } from './policy-file.ts';
import { loadPolicySet, type PolicySet } from './policy-set.ts';

export interface StoredPolicySet {
  seq: number;
  version: string;
  files: PolicySource[];
  appliedAt: string;
  appliedBy: string;
}

export async function runningPolicySet(db: Queryable): Promise<StoredPolicySet | undefined> {
  const row = await db.selectFrom('policy_sets').selectAll().orderBy('seq', 'desc').limit(1).executeTakeFirst();
  if (!row) return undefined;
  return { seq: Number(row.seq), version: row.version, files: JSON.parse(row.files) as PolicySource[], appliedAt: row.applied_at, appliedBy: row.applied_by };
}

/** Appends `set` as the running set. Call inside the transaction that publishes the change. */
export async function recordPolicySet(db: Queryable, set: PolicySet, by: string, now: Date): Promise<void> {
  const last = await db.selectFrom('policy_sets').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst();
  await db
    .insertInto('policy_sets')
    .values({
      seq: Number(last?.seq ?? 0) + 1,
      version: set.version,
      files: JSON.stringify(set.sources.map(({ file, text }) => ({ file, text }))),
      applied_at: now.toISOString(),
      applied_by: by.slice(0, 200),
    })
    .execute();
}

/** Parses and validates the stored set (it was valid when written; the schema may have moved on). */
export function loadStoredPolicySet(stored: StoredPolicySet): PolicySet {
  return loadPolicySet(stored.files);
}
