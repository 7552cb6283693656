import type { MandatesTable } from '../schema.ts';
import type { Queryable } from '../store.ts';

/** A mandate as the inventory shows it: the row, whether its instance and agent still stand, what it spent. */
export interface MandateInventoryRow extends MandatesTable {
  instance_status: string;
  agent_status: string;
  /** Spent so far; null before its first priced call. */
  spent: number | string | null;
}

export interface MandateInventoryFilter {
  agentId?: string | undefined;
  instanceId?: string | undefined;
  /** The person it acts for (`sub`). */
  person?: string | undefined;
  /** live: unrevoked, unexpired, instance and agent active; ended: anything else. */
  state?: 'live' | 'ended' | undefined;
  now: string;
  limit: number;
  /** Keyset: the page continues after this mandate (newest first). */
  after?: { issued_at: string; jti: string } | undefined;
}

/** What the trail says an agent used: one row per resource and action, over a window. */
export interface UsageRow {
  resource: string | null;
  action: string | null;
  calls: number | string;
  last_used: string;
}

/** Trail event types that are an agent's own activity (its calls), not the control plane's notes about it. */
const ACTIVITY = ['tool.decision', 'http.decision', 'tool.result', 'http.result', 'token.issued', 'identity.attested'];
const USED = ['tool.result', 'http.result'];

/** Reads for the lifecycle inventory: mandates with their standing, last activity and usage from the trail. */
export interface InventoryRepository {
  mandates(filter: MandateInventoryFilter): Promise<MandateInventoryRow[]>;
  /** Budget rows of the given mandates (limit, spend, parent), for walking a delegation chain. */
  budgets(jtis: readonly string[]): Promise<Array<{ jti: string; parent_jti: string | null; budget: number | string; spent: number | string | null }>>;
  /** Direct children (delegated mandates) of the given mandates. */
  children(parents: readonly string[]): Promise<Array<{ jti: string; parent_jti: string }>>;
  /** Time of the instance's latest own activity in the trail, if any. */
  instanceActivity(instanceId: string): Promise<string | undefined>;
  /** Time of the agent's latest own activity in the trail (any instance), if any. */
  agentActivity(agentId: string): Promise<string | undefined>;
  /** Successful calls of the agent since `since`, by resource and action. */
  usage(agentId: string, since: string): Promise<UsageRow[]>;
}

export function inventoryRepository(db: Queryable): InventoryRepository {
  const latest = async (column: 'instance' | 'agent', id: string) =>
    (
      await db
        .selectFrom('audit_events')
        .select('time')
        .where(column, '=', id)
        .where('type', 'in', ACTIVITY)
        .orderBy('leaf_index', 'desc')
        .limit(1)
        .executeTakeFirst()
    )?.time;
  return {
    mandates: async (filter) => {
      let query = db
        .selectFrom('mandates')
        .innerJoin('instances', 'instances.id', 'mandates.instance_id')
        .innerJoin('agents', 'agents.id', 'mandates.agent_id')
        .leftJoin('mandate_budgets', 'mandate_budgets.jti', 'mandates.jti')
        .selectAll('mandates')
        .select(['instances.status as instance_status', 'agents.status as agent_status', 'mandate_budgets.spent as spent'])
        .orderBy('mandates.issued_at', 'desc')
        .orderBy('mandates.jti', 'desc')
        .limit(filter.limit);
      if (filter.agentId) query = query.where('mandates.agent_id', '=', filter.agentId);
      if (filter.instanceId) query = query.where('mandates.instance_id', '=', filter.instanceId);
      if (filter.person) query = query.where('mandates.sub', '=', filter.person);
      if (filter.state === 'live') {
        query = query
          .where('mandates.revoked_at', 'is', null)
          .where('mandates.expires_at', '>', filter.now)
          .where('instances.status', '=', 'active')
          .where('agents.status', '=', 'active');
      } else if (filter.state === 'ended') {
        query = query.where((eb) =>
          eb.or([
            eb('mandates.revoked_at', 'is not', null),
            eb('mandates.expires_at', '<=', filter.now),
            eb('instances.status', '!=', 'active'),
            eb('agents.status', '!=', 'active'),
          ]),
        );
      }
      const after = filter.after;
      if (after) {
        query = query.where((eb) =>
          eb.or([eb('mandates.issued_at', '<', after.issued_at), eb.and([eb('mandates.issued_at', '=', after.issued_at), eb('mandates.jti', '<', after.jti)])]),
        );
      }
      return query.execute();
    },
    budgets: async (list) =>
      list.length === 0
        ? []
        : db
            .selectFrom('mandates')
            .leftJoin('mandate_budgets', 'mandate_budgets.jti', 'mandates.jti')
            .select(['mandates.jti as jti', 'mandates.parent_jti as parent_jti', 'mandates.budget as budget', 'mandate_budgets.spent as spent'])
            .where('mandates.jti', 'in', [...list])
            .execute(),
    children: async (parents) =>
      parents.length === 0
        ? []
        : (await db.selectFrom('mandates').select(['jti', 'parent_jti']).where('parent_jti', 'in', [...parents]).orderBy('issued_at').execute()).map((r) => ({
            jti: r.jti,
            parent_jti: r.parent_jti!,
          })),
    instanceActivity: (id) => latest('instance', id),
    agentActivity: (id) => latest('agent', id),
    usage: (agentId, since) =>
      db
        .selectFrom('audit_events')
        .select((eb) => ['resource', 'action', eb.fn.countAll<number | string>().as('calls'), eb.fn.max('time').as('last_used')])
        .where('agent', '=', agentId)
        .where('type', 'in', USED)
        .where('status', '=', 'success')
        .where('time', '>=', since)
        .groupBy(['resource', 'action'])
        .orderBy('resource')
        .execute() as Promise<UsageRow[]>,
  };
}
