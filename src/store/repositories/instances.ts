import type { InstancesTable } from '../schema.ts';
import type { Queryable } from '../store.ts';

export type InstanceRow = InstancesTable;

/** Attested agent instances, one per key (the `jkt` column is unique). */
export interface InstancesRepository {
  insert(row: InstanceRow): Promise<void>;
  find(id: string): Promise<InstanceRow | undefined>;
  /** The instance bound to a key thumbprint, if any. */
  findByJkt(jkt: string): Promise<InstanceRow | undefined>;
  /** Ordered by creation, then id. */
  list(filter?: { agentId?: string | undefined }): Promise<InstanceRow[]>;
  /** Revoke an active instance; one already revoked keeps its first revocation time. True when this call revoked it. */
  revoke(id: string, at: string): Promise<boolean>;
  /** Revoke every active instance of an agent. */
  revokeOfAgent(agentId: string, at: string): Promise<void>;
}

export function instancesRepository(db: Queryable): InstancesRepository {
  return {
    insert: async (row) => {
      await db.insertInto('instances').values(row).execute();
    },
    find: (id) => db.selectFrom('instances').selectAll().where('id', '=', id).executeTakeFirst(),
    findByJkt: (jkt) => db.selectFrom('instances').selectAll().where('jkt', '=', jkt).executeTakeFirst(),
    list: async (filter = {}) => {
      let query = db.selectFrom('instances').selectAll().orderBy('created_at').orderBy('id');
      if (filter.agentId) query = query.where('agent_id', '=', filter.agentId);
      return query.execute();
    },
    revoke: async (id, at) => {
      const result = await db.updateTable('instances').set({ status: 'revoked', revoked_at: at }).where('id', '=', id).where('status', '=', 'active').executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    revokeOfAgent: async (agentId, at) => {
      await db.updateTable('instances').set({ status: 'revoked', revoked_at: at }).where('agent_id', '=', agentId).where('status', '=', 'active').execute();
    },
  };
}
