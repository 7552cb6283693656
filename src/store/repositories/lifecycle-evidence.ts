import type { Queryable } from '../store.ts';

export interface ResourceUse {
  agent: string;
  /** The trail's label of what was called: `<server>/<tool>` or `<connection> <METHOD> <path>`. */
  resource: string;
  action: string;
  last: string;
}

/**
 * What the trail says agents did, for governance: calls allowed per agent and resource, and each
 * agent's last event; plus daily hygiene snapshots. Reads only: the trail is written elsewhere.
 */
export interface LifecycleEvidenceRepository {
  /** Calls the enforcement points allowed since `since`, grouped by agent and resource. */
  allowedUses(since: string, agents?: readonly string[]): Promise<ResourceUse[]>;
  /** Which agents delegated to which since `since`: child mandates and their parent's agent. */
  delegations(since: string, agents?: readonly string[]): Promise<Array<{ delegator: string; delegate: string }>>;
  /** The time of each agent's last event in the trail that one of its instances made (not what operators did to it). */
  lastActivity(): Promise<Map<string, string>>;
  /** Newest first. */
  snapshots(limit: number): Promise<Array<{ taken_at: string; counts: string }>>;
  /** Keep the counts of one day (`YYYY-MM-DD`), replacing that day's earlier ones. */
  addSnapshot(day: string, counts: string): Promise<void>;
}

export function lifecycleEvidenceRepository(db: Queryable): LifecycleEvidenceRepository {
  return {
    allowedUses: async (since, agents) => {
      if (agents !== undefined && agents.length === 0) return [];
      let query = db
        .selectFrom('audit_events')
        .select((eb) => ['agent', 'resource', 'action', eb.fn.max('time').as('last')])
        .where('type', 'in', ['tool.decision', 'http.decision'])
        .where('decision', '=', 'allow')
        .where('time', '>=', since)
        .where('agent', 'is not', null)
        .where('resource', 'is not', null)
        .groupBy(['agent', 'resource', 'action']);
      if (agents !== undefined) query = query.where('agent', 'in', [...agents]);
      const rows = await query.execute();
      return rows.map((r) => ({ agent: r.agent!, resource: r.resource!, action: r.action ?? '', last: String(r.last) }));
    },
    delegations: async (since, agents) => {
      if (agents !== undefined && agents.length === 0) return [];
      let query = db
        .selectFrom('mandates as child')
        .innerJoin('mandates as parent', 'parent.jti', 'child.parent_jti')
        .select(['parent.agent_id as delegator', 'child.agent_id as delegate'])
        .where('child.issued_at', '>=', since)
        .groupBy(['parent.agent_id', 'child.agent_id']);
      if (agents !== undefined) query = query.where('parent.agent_id', 'in', [...agents]);
      return query.execute();
    },
    lastActivity: async () => {
      const rows = await db
        .selectFrom('audit_events')
        .select((eb) => ['agent', eb.fn.max('time').as('last')])
        .where('agent', 'is not', null)
        .where('instance', 'is not', null)
        .groupBy('agent')
        .execute();
      return new Map(rows.map((r) => [r.agent!, String(r.last)]));
    },
    snapshots: (limit) => db.selectFrom('hygiene_snapshots').selectAll().orderBy('taken_at', 'desc').limit(limit).execute(),
    addSnapshot: async (day, counts) => {
      await db.insertInto('hygiene_snapshots').values({ taken_at: day, counts }).onConflict((oc) => oc.column('taken_at').doUpdateSet({ counts })).execute();
    },
  };
}
