// RFC 7009 — token revocation, with cascade to everything derived
import type { Queryable } from '../store/store.ts';

/**
 * Revoke mandates and, transitively, every mandate derived from them (delegation children, at
 * any depth). Returns the jtis newly revoked.
 */
export async function revokeMandates(db: Queryable, jtis: readonly string[], now: Date): Promise<string[]> {
  const revoked: string[] = [];
  let frontier = [...new Set(jtis)];
  const at = now.toISOString();
  while (frontier.length > 0) {
    const fresh = await db
      .selectFrom('mandates')
      .select('jti')
      .where('jti', 'in', frontier)
      .where('revoked_at', 'is', null)
      .execute();
    if (fresh.length > 0) {
      await db.updateTable('mandates').set({ revoked_at: at }).where('jti', 'in', fresh.map((r) => r.jti)).execute();
      revoked.push(...fresh.map((r) => r.jti));
    }
    const children = await db.selectFrom('mandates').select('jti').where('parent_jti', 'in', frontier).where('revoked_at', 'is', null).execute();
    frontier = children.map((r) => r.jti);
  }
  return revoked;
}

/** An instance ends: its identity and every mandate obtained by it or derived from those. */
export async function revokeInstance(db: Queryable, instanceId: string, now: Date): Promise<string[]> {
  await db
    .updateTable('instances')
    .set({ status: 'revoked', revoked_at: now.toISOString() })
    .where('id', '=', instanceId)
    .where('status', '=', 'active')
    .execute();
  const own = await db.selectFrom('mandates').select('jti').where('instance_id', '=', instanceId).where('revoked_at', 'is', null).execute();
  return revokeMandates(db, own.map((r) => r.jti), now);
}

/** An agent is suspended or retired: every mandate of its instances (and derived ones) ends. */
export async function revokeAgentMandates(db: Queryable, agentId: string, now: Date, alsoInstances: boolean): Promise<string[]> {
  if (alsoInstances) {
    await db
      .updateTable('instances')
      .set({ status: 'revoked', revoked_at: now.toISOString() })
      .where('agent_id', '=', agentId)
      .where('status', '=', 'active')
      .execute();
  }
  const own = await db.selectFrom('mandates').select('jti').where('agent_id', '=', agentId).where('revoked_at', 'is', null).execute();
  return revokeMandates(db, own.map((r) => r.jti), now);
}

/** Is this mandate still live: not revoked, its instance active, its agent active? */
export async function mandateStanding(db: Queryable, jti: string): Promise<'live' | 'revoked' | 'unknown'> {
  const row = await db
    .selectFrom('mandates')
    .innerJoin('instances', 'instances.id', 'mandates.instance_id')
    .innerJoin('agents', 'agents.id', 'mandates.agent_id')
    .select(['mandates.revoked_at', 'instances.status as instance_status', 'agents.status as agent_status'])
    .where('mandates.jti', '=', jti)
    .executeTakeFirst();
  if (!row) return 'unknown';
  return row.revoked_at === null && row.instance_status === 'active' && row.agent_status === 'active' ? 'live' : 'revoked';
}

/** Why a mandate that is not live ended, for a refusal that names it (a suspension above all). */
export async function mandateEnding(db: Queryable, jti: string): Promise<{ agentId: string; agentStatus: string; instanceStatus: string } | undefined> {
  const row = await db
    .selectFrom('mandates')
    .innerJoin('instances', 'instances.id', 'mandates.instance_id')
    .innerJoin('agents', 'agents.id', 'mandates.agent_id')
    .select(['agents.id as agent_id', 'instances.status as instance_status', 'agents.status as agent_status'])
    .where('mandates.jti', '=', jti)
    .executeTakeFirst();
  return row ? { agentId: row.agent_id, agentStatus: row.agent_status, instanceStatus: row.instance_status } : undefined;
}
