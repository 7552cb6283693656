import type { ApprovalsTable } from '../schema.ts';
import type { Queryable } from '../store.ts';

export type ApprovalRow = ApprovalsTable;

export interface ApprovalRowFilter {
  /** `expired` means pending or granted past `expires_at`; pending and granted mean unexpired. */
  status: string | 'all' | 'expired';
  agentId?: string | undefined;
  instanceId?: string | undefined;
  limit: number;
}

/**
 * Human approvals. Every transition is a compare-and-set on status (and expiry), so a decision
 * lands once and a grant is consumed once, across replicas.
 */
export interface ApprovalsRepository {
  insert(row: ApprovalRow): Promise<void>;
  find(id: string): Promise<ApprovalRow | undefined>;
  /** The newest pending, granted or denied approval of this exact call still unexpired at `at`. */
  findForCall(binding: { jti: string; resource: string; argsDigest: string }, at: string): Promise<ApprovalRow | undefined>;
  /** Newest first. */
  list(filter: ApprovalRowFilter, at: string): Promise<ApprovalRow[]>;
  /** Record a decision on an approval still pending and unexpired at `at`; true when it landed. */
  decide(id: string, decision: { status: string; decided_at: string; decided_by: string; note: string | null; expires_at?: string }, at: string): Promise<boolean>;
  /** granted → consumed while unexpired at `at`; true for exactly one caller. */
  consume(id: string, at: string): Promise<boolean>;
  /** consumed → granted. */
  restore(id: string): Promise<void>;
  /** Approvals pending and unexpired at `at`: how many, and when the oldest was requested (null when none). */
  backlog(at: string): Promise<{ pending: number; oldest: string | null }>;
}

export function approvalsRepository(db: Queryable): ApprovalsRepository {
  return {
    insert: async (row) => {
      await db.insertInto('approvals').values(row).execute();
    },
    find: (id) => db.selectFrom('approvals').selectAll().where('id', '=', id).executeTakeFirst(),
    findForCall: (binding, at) =>
      db
        .selectFrom('approvals')
        .selectAll()
        .where('jti', '=', binding.jti)
        .where('args_digest', '=', binding.argsDigest)
        .where('resource', '=', binding.resource)
        .where('status', 'in', ['pending', 'granted', 'denied'])
        .where('expires_at', '>', at)
        .orderBy('requested_at', 'desc')
        .limit(1)
        .executeTakeFirst(),
    backlog: async (at) => {
      const row = await db
        .selectFrom('approvals')
        .select((eb) => [eb.fn.countAll<number | string>().as('pending'), eb.fn.min('requested_at').as('oldest')])
        .where('status', '=', 'pending')
        .where('expires_at', '>', at)
        .executeTakeFirstOrThrow();
      return { pending: Number(row.pending), oldest: (row.oldest as string | null) ?? null };
    },
    list: async (filter, at) => {
      let query = db.selectFrom('approvals').selectAll().orderBy('requested_at', 'desc').limit(filter.limit);
      const status = filter.status;
      if (status === 'expired') query = query.where('status', 'in', ['pending', 'granted']).where('expires_at', '<=', at);
      else if (status === 'pending' || status === 'granted') query = query.where('status', '=', status).where('expires_at', '>', at);
      else if (status !== 'all') query = query.where('status', '=', status);
      if (filter.agentId) query = query.where('agent_id', '=', filter.agentId);
      if (filter.instanceId) query = query.where('instance_id', '=', filter.instanceId);
      return query.execute();
    },
    decide: async (id, decision, at) => {
      const result = await db
        .updateTable('approvals')
        .set(decision)
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .where('expires_at', '>', at)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    consume: async (id, at) => {
      const result = await db
        .updateTable('approvals')
        .set({ status: 'consumed', consumed_at: at })
        .where('id', '=', id)
        .where('status', '=', 'granted')
        .where('expires_at', '>', at)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    restore: async (id) => {
      await db.updateTable('approvals').set({ status: 'granted', consumed_at: null }).where('id', '=', id).where('status', '=', 'consumed').execute();
    },
  };
}
