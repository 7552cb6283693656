import type { Queryable } from '../store.ts';

export interface PolicySetRow {
  seq: number;
  version: string;
  /** JSON array of `{ file, text }`. */
  files: string;
  applied_at: string;
  applied_by: string;
}

/** Applied policy sets, append-only: the highest `seq` is the running set. */
export interface PolicySetsRepository {
  running(): Promise<PolicySetRow | undefined>;
  /** Append a set after the running one; returns its seq. */
  append(row: Omit<PolicySetRow, 'seq'>): Promise<number>;
}

export function policySetsRepository(db: Queryable): PolicySetsRepository {
  return {
    running: async () => {
      const row = await db.selectFrom('policy_sets').selectAll().orderBy('seq', 'desc').limit(1).executeTakeFirst();
      return row ? { ...row, seq: Number(row.seq) } : undefined;
    },
    append: async (row) => {
      const last = await db.selectFrom('policy_sets').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst();
      const seq = Number(last?.seq ?? 0) + 1;
      await db.insertInto('policy_sets').values({ ...row, seq }).execute();
      return seq;
    },
  };
}
