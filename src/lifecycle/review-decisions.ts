import { SYSTEM_CHAIN } from '../audit/writer.ts';
import { MandateError } from '../errors.ts';
import type { AgentCard, AgentCardSpec } from '../registry/agent-card.ts';
import { applyAgents, findAgent, parseAgentCard } from '../registry/agents.ts';
import { type ReviewCampaignRow, type ReviewItemRow, reviewsRepository } from '../store/repositories/reviews.ts';
import { campaignRow, type Granted, itemOf, reviewEvent, type ReviewDeps, type ReviewItem, type Trim } from './reviews.ts';

// An owner's decisions on the items of an access review: certify, or trim the agent card.

async function openItem(deps: ReviewDeps, campaignId: string, agentId: string): Promise<{ campaign: ReviewCampaignRow; item: ReviewItemRow }> {
  const campaign = await campaignRow(deps, campaignId);
  if (campaign.status !== 'open') throw new MandateError('ERR_REVIEW_CLOSED', `campaign ${campaignId} is closed`);
  const item = await reviewsRepository(deps.store.db).item(campaignId, agentId);
  if (!item) throw new MandateError('ERR_REVIEW_ITEM_NOT_FOUND', `agent ${agentId} is not in campaign ${campaignId}`);
  if (item.status !== 'pending') throw new MandateError('ERR_REVIEW_ITEM_DECIDED', `agent ${agentId} was ${item.status} already in campaign ${campaignId}`);
  return { campaign, item };
}

export const decided = async (deps: ReviewDeps, campaignId: string, agentId: string, changes: Parameters<ReturnType<typeof reviewsRepository>['decideItem']>[3]) => {
  if (!(await reviewsRepository(deps.store.db).decideItem(campaignId, agentId, 'pending', changes))) {
    throw new MandateError('ERR_REVIEW_ITEM_DECIDED', `agent ${agentId} was decided already in campaign ${campaignId}`);
  }
};

/** The owner keeps the agent's rights as they are. */
export async function certifyItem(deps: ReviewDeps, campaignId: string, agentId: string, by: string | null, note?: string): Promise<ReviewItem> {
  const { campaign } = await openItem(deps, campaignId, agentId);
  const at = deps.now().toISOString();
  await decided(deps, campaignId, agentId, { status: 'certified', removed: null, decided_by: by, decided_at: at, note: note ?? null });
  const item = itemOf((await reviewsRepository(deps.store.db).item(campaignId, agentId))!);
  await deps.audit.append({ ...reviewEvent('lifecycle.review_certified', item, campaign, note ?? 'certified'), actor: { instance: null, agent: agentId, person: by, delegation: [] }, status: 'success' });
  return item;
}

/** The card without the given rights, validated as any card; refuses rights the agent does not hold. */
function trimmedSpec(agent: AgentCard, trim: Granted): AgentCardSpec {
  const missing = [
    ...trim.toolset.filter((t) => !agent.toolset.includes(t)),
    ...trim.roles.filter((r) => !agent.roles.includes(r)),
    ...trim.may_delegate_to.filter((d) => !agent.may_delegate_to.includes(d)),
  ];
  if (missing.length > 0) throw new MandateError('ERR_REVIEW_TRIM_INVALID', `agent ${agent.id} does not hold ${missing.join(', ')}`);
  if (trim.toolset.length + trim.roles.length + trim.may_delegate_to.length === 0) throw new MandateError('ERR_REVIEW_TRIM_INVALID', 'a trim must remove something');
  const { status: _s, created_at: _c, updated_at: _u, flags: _f, ...spec } = agent;
  return parseAgentCard({
    ...spec,
    toolset: agent.toolset.filter((t) => !trim.toolset.includes(t)),
    roles: agent.roles.filter((r) => !trim.roles.includes(r)),
    may_delegate_to: agent.may_delegate_to.filter((d) => !trim.may_delegate_to.includes(d)),
  });
}

/** Change the card through the registry (as `PUT /v1/agents` does) and tell every replica. */
export async function applyTrim(deps: ReviewDeps, agent: AgentCard, trim: Granted): Promise<void> {
  await applyAgents(deps.store, [trimmedSpec(agent, trim)], deps.now());
  await deps.changes.publish({ kind: 'agent.changed', id: agent.id });
}

export const trimEvent = (campaign: ReviewCampaignRow, agentId: string, by: string | null, removed: Granted, message: string) => ({
  chain: SYSTEM_CHAIN,
  type: 'lifecycle.agent_trimmed',
  actor: { instance: null, agent: agentId, person: by, delegation: [] },
  action: 'agent:trim',
  resource: agentId,
  status: 'success' as const,
  data: { campaign: campaign.id, resources: [...removed.toolset, ...removed.roles.map((r) => `role:${r}`), ...removed.may_delegate_to.map((d) => `delegate:${d}`)] },
  reasons: { message },
});

/** The owner removes rights: the agent card changes at once (every replica), the item is decided. */
export async function trimItem(deps: ReviewDeps, campaignId: string, agentId: string, trim: Trim, by: string | null): Promise<ReviewItem> {
  const { campaign } = await openItem(deps, campaignId, agentId);
  const agent = await findAgent(deps.store.db, agentId);
  if (!agent || agent.status === 'retired') throw new MandateError('ERR_AGENT_STATE', `agent ${agentId} is ${agent ? 'retired' : 'gone'}; nothing to trim`);
  const removed: Granted = { toolset: trim.toolset, roles: trim.roles, may_delegate_to: trim.may_delegate_to };
  trimmedSpec(agent, removed);
  const at = deps.now().toISOString();
  await decided(deps, campaignId, agentId, { status: 'trimmed', removed: JSON.stringify(removed), decided_by: by, decided_at: at, note: trim.note ?? null });
  try {
    await applyTrim(deps, agent, removed);
  } catch (error) {
    await reviewsRepository(deps.store.db).decideItem(campaignId, agentId, 'trimmed', { status: 'pending', removed: null, decided_by: null, decided_at: null, note: null });
    throw error;
  }
  await deps.audit.append(trimEvent(campaign, agentId, by, removed, trim.note ?? 'trimmed by its owner in an access review'));
  return itemOf((await reviewsRepository(deps.store.db).item(campaignId, agentId))!);
}
