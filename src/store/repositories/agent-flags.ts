import type { AgentFlagsTable } from '../schema.ts';
import type { Queryable } from '../store.ts';

export type AgentFlagRow = AgentFlagsTable;

/** Lifecycle flags on agents (`orphaned`, `stale`), one row per agent and flag. */
export interface AgentFlagsRepository {
  /** Raise a flag; false when it was up already (the first `since` and `due_at` stay). */
  raise(row: AgentFlagRow): Promise<boolean>;
  /** Lower a flag; false when it was not up. */
  lower(agentId: string, flag: string): Promise<boolean>;
  list(filter?: { agentId?: string | undefined; flag?: string | undefined }): Promise<AgentFlagRow[]>;
  /** Flags whose follow-up is due at `now`. */
  due(flag: string, now: string): Promise<AgentFlagRow[]>;
  /** Clear the follow-up once done (compare-and-set on `due_at`): false when another replica did it. */
  settle(agentId: string, flag: string, dueAt: string): Promise<boolean>;
}

export function agentFlagsRepository(db: Queryable): AgentFlagsRepository {
  return {
    raise: async (row) => {
      const inserted = await db
        .insertInto('agent_flags')
        .values(row)
        .onConflict((oc) => oc.columns(['agent_id', 'flag']).doNothing())
        .returning('agent_id')
        .execute();
      return inserted.length === 1;
    },
    lower: async (agentId, flag) => {
      const result = await db.deleteFrom('agent_flags').where('agent_id', '=', agentId).where('flag', '=', flag).executeTakeFirst();
      return Number(result.numDeletedRows) === 1;
    },
    list: async (filter = {}) => {
      let query = db.selectFrom('agent_flags').selectAll().orderBy('agent_id').orderBy('flag');
      if (filter.agentId) query = query.where('agent_id', '=', filter.agentId);
      if (filter.flag) query = query.where('flag', '=', filter.flag);
      return query.execute();
    },
    due: (flag, now) => db.selectFrom('agent_flags').selectAll().where('flag', '=', flag).where('due_at', 'is not', null).where('due_at', '<=', now).orderBy('agent_id').execute(),
    settle: async (agentId, flag, dueAt) => {
      const result = await db.updateTable('agent_flags').set({ due_at: null }).where('agent_id', '=', agentId).where('flag', '=', flag).where('due_at', '=', dueAt).executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
  };
}
