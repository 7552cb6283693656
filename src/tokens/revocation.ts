// RFC 7009 — token revocation, with cascade to everything derived
import { instancesRepository } from '../store/repositories/instances.ts';
import { mandatesRepository } from '../store/repositories/mandates.ts';
import type { Queryable } from '../store/store.ts';

/**
 * Revoke mandates and, transitively, every mandate derived from them (delegation children, at
 * any depth). Returns the jtis newly revoked.
 */
export async function revokeMandates(db: Queryable, jtis: readonly string[], now: Date): Promise<string[]> {
  const mandates = mandatesRepository(db);
  const revoked: string[] = [];
  let frontier = [...new Set(jtis)];
  const at = now.toISOString();
  while (frontier.length > 0) {
    const fresh = await mandates.unrevoked(frontier);
    if (fresh.length > 0) {
      await mandates.markRevoked(fresh, at);
      revoked.push(...fresh);
    }
    frontier = await mandates.unrevokedChildren(frontier);
  }
  return revoked;
}

/** An instance ends: its identity and every mandate obtained by it or derived from those. */
export async function revokeInstance(db: Queryable, instanceId: string, now: Date): Promise<string[]> {
  await instancesRepository(db).revoke(instanceId, now.toISOString());
  return revokeMandates(db, await mandatesRepository(db).unrevokedOfInstance(instanceId), now);
}

/** An agent is suspended or retired: every mandate of its instances (and derived ones) ends. */
export async function revokeAgentMandates(db: Queryable, agentId: string, now: Date, alsoInstances: boolean): Promise<string[]> {
  if (alsoInstances) await instancesRepository(db).revokeOfAgent(agentId, now.toISOString());
  return revokeMandates(db, await mandatesRepository(db).unrevokedOfAgent(agentId), now);
}

/** Is this mandate still live: not revoked, its instance active, its agent active? */
export async function mandateStanding(db: Queryable, jti: string): Promise<'live' | 'revoked' | 'unknown'> {
  const row = await mandatesRepository(db).standing(jti);
  if (!row) return 'unknown';
  return row.revoked_at === null && row.instance_status === 'active' && row.agent_status === 'active' ? 'live' : 'revoked';
}

/** Why a mandate that is not live ended, for a refusal that names it (a suspension above all). */
export async function mandateEnding(db: Queryable, jti: string): Promise<{ agentId: string; agentStatus: string; instanceStatus: string } | undefined> {
  const row = await mandatesRepository(db).standing(jti);
  return row ? { agentId: row.agent_id, agentStatus: row.agent_status, instanceStatus: row.instance_status } : undefined;
}
