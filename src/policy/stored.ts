/**
 * The running policy set in the database: every replica decides with the newest row, and an apply
 * on any replica reaches the others as a `policy.applied` change.
 */
import { policySetsRepository } from '../store/repositories/policy-sets.ts';
import type { Queryable } from '../store/store.ts';
import type { PolicySource } from './policy-file.ts';
import { loadPolicySet, type PolicySet } from './policy-set.ts';
import type { Schema } from './schema.ts';

export interface StoredPolicySet {
  seq: number;
  version: string;
  files: PolicySource[];
  appliedAt: string;
  appliedBy: string;
}

export async function runningPolicySet(db: Queryable): Promise<StoredPolicySet | undefined> {
  const row = await policySetsRepository(db).running();
  if (!row) return undefined;
  return { seq: row.seq, version: row.version, files: JSON.parse(row.files) as PolicySource[], appliedAt: row.applied_at, appliedBy: row.applied_by };
}

/** Appends `set` as the running set. Call inside the transaction that publishes the change. */
export async function recordPolicySet(db: Queryable, set: PolicySet, by: string, now: Date): Promise<void> {
  await policySetsRepository(db).append({
    version: set.version,
    files: JSON.stringify(set.sources.map(({ file, text }) => ({ file, text }))),
    applied_at: now.toISOString(),
    applied_by: by.slice(0, 200),
  });
}

/** Parses and validates the stored set (it was valid when written; the schema may have moved on). */
export function loadStoredPolicySet(stored: StoredPolicySet, schema?: Schema): PolicySet {
  return loadPolicySet(stored.files, schema ? { schema } : {});
}
