import type { AgentsTable } from '../schema.ts';
import type { Queryable } from '../store.ts';

export type AgentRow = AgentsTable;

export interface AgentRowFilter {
  status?: string | undefined;
  owner?: string | undefined;
  environment?: string | undefined;
}

/** Agent cards as rows: the registry owns their meaning, this port only their keeping. */
export interface AgentsRepository {
  find(id: string): Promise<AgentRow | undefined>;
  /** Ordered by id. */
  list(filter?: AgentRowFilter): Promise<AgentRow[]>;
  insert(row: AgentRow): Promise<void>;
  /** Replace the spec columns of an existing card. */
  update(id: string, changes: Omit<AgentRow, 'id' | 'status' | 'created_at'>): Promise<void>;
  /** Compare-and-set on status: nothing changes unless the card is still `from`. */
  changeStatus(id: string, from: string, to: string, at: string): Promise<void>;
}

export function agentsRepository(db: Queryable): AgentsRepository {
  return {
    find: (id) => db.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirst(),
    list: async (filter = {}) => {
      let query = db.selectFrom('agents').selectAll().orderBy('id');
      if (filter.status) query = query.where('status', '=', filter.status);
      if (filter.owner) query = query.where('owner', '=', filter.owner);
      if (filter.environment) query = query.where('environment', '=', filter.environment);
      return query.execute();
    },
    insert: async (row) => {
      await db.insertInto('agents').values(row).execute();
    },
    update: async (id, changes) => {
      await db.updateTable('agents').set(changes).where('id', '=', id).execute();
    },
    changeStatus: async (id, from, to, at) => {
      await db.updateTable('agents').set({ status: to, updated_at: at }).where('id', '=', id).where('status', '=', from).execute();
    },
  };
}
