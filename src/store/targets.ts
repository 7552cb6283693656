import type { Queryable } from './store.ts';

/**
 * What the admin guard reads to decide environment-scoped and owner grants: the environment and
 * owner of an agent, and the agent whose call an approval holds.
 */
export async function findAgentTarget(db: Queryable, agentId: string): Promise<{ environment: string; owner: string | null } | undefined> {
  return db.selectFrom('agents').select(['environment', 'owner']).where('id', '=', agentId).executeTakeFirst();
}

export async function findApproval(db: Queryable, id: string): Promise<{ agent_id: string } | undefined> {
  return db.selectFrom('approvals').select(['agent_id']).where('id', '=', id).executeTakeFirst();
}

/** Environment and owner of every agent, for narrowing lists to what a scoped grant may see. */
export async function agentTargets(db: Queryable): Promise<Map<string, { environment: string; owner: string | null }>> {
  const rows = await db.selectFrom('agents').select(['id', 'environment', 'owner']).execute();
  return new Map(rows.map((row) => [row.id, { environment: row.environment, owner: row.owner }]));
}
