import type { FindingsTable } from '../schema.ts';
import type { Queryable } from '../store.ts';

export type FindingRow = FindingsTable;

const findingOf = (row: FindingRow): FindingRow => ({ ...row, seen_count: Number(row.seen_count) });

/** The one queue shadow-agent discovery reports into; `src/lifecycle/findings.ts` owns its meaning. */
export interface FindingsRepository {
  /**
   * Insert a new finding, or, when one with its fingerprint exists, move its `last_seen`, count the
   * sighting and refresh what the scanner saw (a dismissed or claimed finding keeps its decision).
   * True when the finding is new.
   */
  report(row: FindingRow): Promise<boolean>;
  find(id: string): Promise<FindingRow | undefined>;
  byFingerprint(fingerprint: string): Promise<FindingRow | undefined>;
  /** Newest sighting first. */
  list(filter?: { status?: string | undefined; scanner?: string | undefined; limit?: number | undefined }): Promise<FindingRow[]>;
  /** Compare-and-set open → claimed or dismissed. */
  decide(id: string, changes: Pick<FindingRow, 'status' | 'agent_id' | 'owner' | 'reason' | 'decided_by' | 'decided_at'>): Promise<boolean>;
  countByStatus(): Promise<Record<string, number>>;
}

export function findingsRepository(db: Queryable): FindingsRepository {
  return {
    report: async (row) => {
      const existing = await db.selectFrom('findings').select(['id']).where('fingerprint', '=', row.fingerprint).executeTakeFirst();
      if (existing) {
        await db
          .updateTable('findings')
          .set((eb) => ({ last_seen: row.last_seen, seen_count: eb('seen_count', '+', 1), detail: row.detail, title: row.title, severity: row.severity }))
          .where('id', '=', existing.id)
          .execute();
        return false;
      }
      const inserted = await db
        .insertInto('findings')
        .values(row)
        .onConflict((oc) => oc.column('fingerprint').doNothing())
        .executeTakeFirst();
      return Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1;
    },
    find: async (id) => {
      const row = await db.selectFrom('findings').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? findingOf(row) : undefined;
    },
    byFingerprint: async (fingerprint) => {
      const row = await db.selectFrom('findings').selectAll().where('fingerprint', '=', fingerprint).executeTakeFirst();
      return row ? findingOf(row) : undefined;
    },
    list: async (filter = {}) => {
      let query = db.selectFrom('findings').selectAll().orderBy('last_seen', 'desc').orderBy('id');
      if (filter.status) query = query.where('status', '=', filter.status);
      if (filter.scanner) query = query.where('scanner', '=', filter.scanner);
      return (await query.limit(filter.limit ?? 1000).execute()).map(findingOf);
    },
    decide: async (id, changes) => {
      const result = await db.updateTable('findings').set(changes).where('id', '=', id).where('status', '=', 'open').executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    countByStatus: async () => {
      const rows = await db.selectFrom('findings').select((eb) => ['status', eb.fn.countAll<number | string>().as('n')]).groupBy('status').execute();
      return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
    },
  };
}
