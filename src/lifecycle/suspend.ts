import { SYSTEM_CHAIN } from '../audit/writer.ts';
import { mandatesRevoked } from '../cluster/changes.ts';
import { agentsRepository } from '../store/repositories/agents.ts';
import { revokeAgentMandates } from '../tokens/revocation.ts';
import type { LifecycleDeps } from './deps.ts';

/**
 * Suspend an active agent for a lifecycle reason (its owner left, it went unused): every mandate
 * ends at once on every replica. Compare-and-set on the status, so of several replicas reaping at
 * once exactly one suspends and audits; false when the agent was not active.
 */
export async function suspendForLifecycle(deps: LifecycleDeps, agentId: string, reason: string): Promise<boolean> {
  const now = deps.now();
  const outcome = await deps.changes.transaction(async (trx, emit) => {
    if (!(await agentsRepository(trx).changeStatus(agentId, 'active', 'suspended', now.toISOString()))) return undefined;
    const revoked = await revokeAgentMandates(trx, agentId, now, false);
    await emit({ kind: 'agent.changed', id: agentId });
    if (revoked.length > 0) await emit(mandatesRevoked(revoked));
    return revoked;
  });
  if (!outcome) return false;
  await deps.audit.append({
    chain: SYSTEM_CHAIN,
    type: 'lifecycle.suspended',
    actor: { instance: null, agent: agentId, person: null, delegation: [] },
    action: 'agent:suspend',
    resource: agentId,
    status: 'success',
    data: { resources: outcome },
    reasons: { message: reason },
  });
  return true;
}
