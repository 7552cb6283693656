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
  /** Compare-and-set on status: nothing changes unless the card is still `from`; true when it changed. */
  changeStatus(id: string, from: string, to: string, at: string): Promise<boolean>;
  /** Cards not retired whose owner is one of these names (compared case-insensitively), by id. */
  ownedBy(owners: readonly string[]): Promise<AgentRow[]>;
  /** Compare-and-set on the owner (the spec hash follows it): false when the owner changed meanwhile. */
  changeOwner(id: string, from: string | null, to: string, specHash: string, at: string): Promise<boolean>;
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
      const result = await db.updateTable('agents').set({ status: to, updated_at: at }).where('id', '=', id).where('status', '=', from).executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    ownedBy: async (owners) =>
      owners.length === 0
        ? []
        : db
            .selectFrom('agents')
            .selectAll()
            .where((eb) => eb(eb.fn('lower', ['owner']), 'in', owners.map((o) => o.toLowerCase())))
            .where('status', '!=', 'retired')
            .orderBy('id')
            .execute(),
    changeOwner: async (id, from, to, specHash, at) => {
      const result = await db
        .updateTable('agents')
        .set({ owner: to, spec_hash: specHash, updated_at: at })
        .where('id', '=', id)
        .where((eb) => (from === null ? eb('owner', 'is', null) : eb('owner', '=', from)))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
  };
}
