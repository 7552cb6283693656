import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { CheckpointKey } from '../audit/checkpoint-key.ts';
import { SYSTEM_CHAIN, type AuditWriter } from '../audit/writer.ts';
import { mandatesRevoked } from '../cluster/changes.ts';
import type { ChangeFeed } from '../cluster/feed.ts';
import { MandateError } from '../errors.ts';
import type { AgentCard, AgentCardSpec } from '../registry/agent-card.ts';
import { applyAgents, changeAgentStatus, findAgent, listAgents, parseAgentCard } from '../registry/agents.ts';
import { durationSeconds } from '../registry/duration.ts';
import { type ReviewCampaignRow, type ReviewItemRow, reviewsRepository } from '../store/repositories/reviews.ts';
import type { Store } from '../store/store.ts';
import { revokeAgentMandates } from '../tokens/revocation.ts';
import { signReviewReport, type SignedReviewReport } from './review-report.ts';
import { daysBefore, delegationsSince, unusedItems, usesSince } from './usage.ts';

/**
 * Access reviews (issue 18): a campaign puts one item per agent in scope before the agent's owner,
 * who certifies it or trims its toolset, roles and delegation rights, helped by the toolset items
 * the trail shows unused for `unused_days`. Owners are told through the notification sinks
 * (`lifecycle.review_requested`, then `lifecycle.review_reminded`); what nobody decided by the due
 * date gets the campaign's action when it closes (by an operator, or the periodic check), and the
 * outcome is a report signed with the audit checkpoint key.
 */
export interface ReviewDeps {
  store: Store;
  audit: AuditWriter;
  changes: ChangeFeed;
  now: () => Date;
  checkpointKey: CheckpointKey;
  trustDomain: string;
}

export const REVIEW_ACTIONS = ['suspend', 'trim'] as const;

export const campaignSpecSchema = z.strictObject({
  environment: z.enum(['dev', 'staging', 'prod']).optional(),
  /** How long owners have: `14d`, `36h` or seconds. */
  due: durationSeconds.pipe(z.number().int().min(60, 'must be at least a minute').max(366 * 86_400, 'must be at most a year')).default(14 * 86_400),
  action: z.enum(REVIEW_ACTIONS).default('suspend'),
  unused_days: z.number().int().min(1).max(3650).default(30),
});
export type CampaignSpec = z.output<typeof campaignSpecSchema>;

export const trimSchema = z.strictObject({
  toolset: z.array(z.string().max(1000)).max(500).default([]),
  roles: z.array(z.string().max(64)).max(50).default([]),
  may_delegate_to: z.array(z.string().max(64)).max(100).default([]),
  note: z.string().max(2000).optional(),
});
export type Trim = z.output<typeof trimSchema>;

export interface Granted {
  toolset: string[];
  roles: string[];
  may_delegate_to: string[];
}

export interface Unused {
  toolset: string[];
  may_delegate_to: string[];
}

export interface ReviewItem {
  agent: string;
  owner: string | null;
  status: 'pending' | 'certified' | 'trimmed' | 'suspended' | 'lapsed' | 'expired';
  granted: Granted;
  /**
   * Least-privilege suggestion over the campaign's window: toolset items no allowed call used, and
   * agents it may delegate to but did not (no child mandate issued to them).
   */
  unused: Unused;
  removed: Granted | null;
  decided_by: string | null;
  decided_at: string | null;
  note: string | null;
  reminded_at: string | null;
}

export interface Campaign {
  id: string;
  environment: string | null;
  status: 'open' | 'closed';
  action: (typeof REVIEW_ACTIONS)[number];
  unused_days: number;
  due_at: string;
  created_by: string | null;
  created_at: string;
  closed_at: string | null;
  counts: Record<string, number>;
  items?: ReviewItem[];
}

const json = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));

export const itemOf = (row: ReviewItemRow): ReviewItem => ({
  agent: row.agent_id,
  owner: row.owner,
  status: row.status as ReviewItem['status'],
  granted: json<Granted>(row.granted)!,
  unused: json<Unused>(row.unused)!,
  removed: json<Granted>(row.removed),
  decided_by: row.decided_by,
  decided_at: row.decided_at,
  note: row.note,
  reminded_at: row.reminded_at,
});

function campaignOf(row: ReviewCampaignRow, items: ReviewItem[], withItems: boolean): Campaign {
  const counts: Record<string, number> = { items: items.length };
  for (const item of items) counts[item.status] = (counts[item.status] ?? 0) + 1;
  return {
    id: row.id,
    environment: row.environment,
    status: row.status as Campaign['status'],
    action: row.action as Campaign['action'],
    unused_days: row.unused_days,
    due_at: row.due_at,
    created_by: row.created_by,
    created_at: row.created_at,
    closed_at: row.closed_at,
    counts,
    ...(withItems ? { items } : {}),
  };
}

const grantedOf = (agent: AgentCard): Granted => ({ toolset: agent.toolset, roles: agent.roles, may_delegate_to: agent.may_delegate_to });

async function campaignRow(deps: Pick<ReviewDeps, 'store'>, id: string): Promise<ReviewCampaignRow> {
  const row = await reviewsRepository(deps.store.db).findCampaign(id);
  if (!row) throw new MandateError('ERR_REVIEW_NOT_FOUND', `no access review campaign ${id}`);
  return row;
}

export async function getCampaign(deps: Pick<ReviewDeps, 'store'>, id: string): Promise<Campaign> {
  const row = await campaignRow(deps, id);
  return campaignOf(row, (await reviewsRepository(deps.store.db).items(id)).map(itemOf), true);
}

export async function listCampaigns(deps: Pick<ReviewDeps, 'store'>, status?: string): Promise<Campaign[]> {
  const repo = reviewsRepository(deps.store.db);
  const rows = await repo.listCampaigns({ status });
  return Promise.all(rows.map(async (row) => campaignOf(row, (await repo.items(row.id)).map(itemOf), false)));
}

const reviewEvent = (type: string, item: { agent: string; owner: string | null }, campaign: ReviewCampaignRow, message: string) => ({
  chain: SYSTEM_CHAIN,
  type,
  actor: { instance: null, agent: item.agent, person: item.owner, delegation: [] },
  action: 'agent:review',
  resource: item.agent,
  status: 'pending' as const,
  data: { campaign: campaign.id, due_at: campaign.due_at },
  reasons: { message },
});

/** Open a campaign over every agent in scope that is not retired; each owner is told. */
export async function startCampaign(deps: ReviewDeps, spec: CampaignSpec, createdBy: string | null): Promise<Campaign> {
  const now = deps.now();
  const agents = (await listAgents(deps.store.db, { environment: spec.environment })).filter((a) => a.status !== 'retired');
  if (agents.length === 0) throw new MandateError('ERR_REVIEW_EMPTY', `no agent${spec.environment ? ` in ${spec.environment}` : ''} to review`);
  const since = daysBefore(now, spec.unused_days);
  const uses = await usesSince(deps.store.db, since, agents.map((a) => a.id));
  const delegated = await delegationsSince(deps.store.db, since, agents.map((a) => a.id));
  const row: ReviewCampaignRow = {
    id: `rev_${randomBytes(8).toString('hex')}`,
    environment: spec.environment ?? null,
    status: 'open',
    action: spec.action,
    unused_days: spec.unused_days,
    due_at: new Date(now.getTime() + spec.due * 1000).toISOString(),
    created_by: createdBy,
    created_at: now.toISOString(),
    closed_at: null,
    report: null,
  };
  const items: ReviewItemRow[] = agents.map((agent) => ({
    campaign_id: row.id,
    agent_id: agent.id,
    owner: agent.owner,
    status: 'pending',
    granted: JSON.stringify(grantedOf(agent)),
    unused: JSON.stringify({
      toolset: unusedItems(agent.toolset, uses.get(agent.id) ?? []),
      may_delegate_to: agent.may_delegate_to.filter((d) => !delegated.get(agent.id)?.has(d)),
    } satisfies Unused),
    removed: null,
    decided_by: null,
    decided_at: null,
    note: null,
    reminded_at: null,
  }));
  await deps.store.transaction((trx) => reviewsRepository(trx).insertCampaign(row, items));
  for (const item of items) {
    const unused = JSON.parse(item.unused) as Unused;
    const listed = [...unused.toolset, ...unused.may_delegate_to.map((d) => `delegation to ${d}`)];
    await deps.audit.append(
      reviewEvent('lifecycle.review_requested', { agent: item.agent_id, owner: item.owner }, row,
        `review agent ${item.agent_id} by ${row.due_at}: certify or trim${listed.length ? `; unused for ${spec.unused_days} days: ${listed.join(', ')}` : ''}${item.owner ? '' : '; it has no owner'}`),
    );
  }
  return getCampaign(deps, row.id);
}

async function openItem(deps: ReviewDeps, campaignId: string, agentId: string): Promise<{ campaign: ReviewCampaignRow; item: ReviewItemRow }> {
  const campaign = await campaignRow(deps, campaignId);
  if (campaign.status !== 'open') throw new MandateError('ERR_REVIEW_CLOSED', `campaign ${campaignId} is closed`);
  const item = await reviewsRepository(deps.store.db).item(campaignId, agentId);
  if (!item) throw new MandateError('ERR_REVIEW_ITEM_NOT_FOUND', `agent ${agentId} is not in campaign ${campaignId}`);
  if (item.status !== 'pending') throw new MandateError('ERR_REVIEW_ITEM_DECIDED', `agent ${agentId} was ${item.status} already in campaign ${campaignId}`);
  return { campaign, item };
}

const decided = async (deps: ReviewDeps, campaignId: string, agentId: string, changes: Parameters<ReturnType<typeof reviewsRepository>['decideItem']>[3]) => {
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
async function applyTrim(deps: ReviewDeps, agent: AgentCard, trim: Granted): Promise<void> {
  await applyAgents(deps.store, [trimmedSpec(agent, trim)], deps.now());
  await deps.changes.publish({ kind: 'agent.changed', id: agent.id });
}

const trimEvent = (campaign: ReviewCampaignRow, agentId: string, by: string | null, removed: Granted, message: string) => ({
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

/** Remind the owners of pending items of open campaigns not reminded within `everySeconds`. */
export async function remindOwners(deps: ReviewDeps, everySeconds = 86_400, campaignId?: string): Promise<number> {
  const now = deps.now();
  const repo = reviewsRepository(deps.store.db);
  const campaigns = campaignId ? [await campaignRow(deps, campaignId)] : await repo.listCampaigns({ status: 'open' });
  let sent = 0;
  for (const campaign of campaigns.filter((c) => c.status === 'open')) {
    for (const item of (await repo.items(campaign.id)).filter((i) => i.status === 'pending')) {
      if (item.reminded_at && now.getTime() - Date.parse(item.reminded_at) < everySeconds * 1000) continue;
      const left = Math.max(0, Math.round((Date.parse(campaign.due_at) - now.getTime()) / 3_600_000));
      await deps.audit.append(reviewEvent('lifecycle.review_reminded', { agent: item.agent_id, owner: item.owner }, campaign, `review of agent ${item.agent_id} is due in ${left} h (${campaign.due_at}); undecided it will be ${campaign.action === 'suspend' ? 'suspended' : 'trimmed of unused items'}`));
      await repo.markReminded(campaign.id, item.agent_id, now.toISOString());
      sent++;
    }
  }
  return sent;
}

/** The due-date action on one undecided item. */
async function lapse(deps: ReviewDeps, campaign: ReviewCampaignRow, row: ReviewItemRow): Promise<void> {
  const now = deps.now();
  const at = now.toISOString();
  const agent = await findAgent(deps.store.db, row.agent_id);
  const item = itemOf(row);
  const by = 'mandate (review due date)';
  if (!agent || agent.status === 'retired') {
    await decided(deps, campaign.id, row.agent_id, { status: 'expired', removed: null, decided_by: by, decided_at: at, note: 'the agent is retired or gone' });
    return;
  }
  if (campaign.action === 'suspend') {
    await decided(deps, campaign.id, row.agent_id, { status: 'suspended', removed: null, decided_by: by, decided_at: at, note: 'not certified by the due date' });
    if (agent.status !== 'active') return;
    const revoked = await deps.changes.transaction(async (trx, emit) => {
      await changeAgentStatus(trx, agent.id, 'suspend', now);
      const ended = await revokeAgentMandates(trx, agent.id, now, false);
      await emit({ kind: 'agent.changed', id: agent.id });
      if (ended.length > 0) await emit(mandatesRevoked(ended));
      return ended;
    });
    await deps.audit.append({
      chain: SYSTEM_CHAIN,
      type: 'lifecycle.suspended',
      actor: { instance: null, agent: agent.id, person: null, delegation: [] },
      action: 'agent:suspend',
      resource: agent.id,
      status: 'success',
      data: { campaign: campaign.id, resources: revoked },
      reasons: { message: `not certified by ${campaign.due_at} in access review ${campaign.id}` },
    });
    return;
  }
  // What is still held of what was unused when the campaign started.
  const removed: Granted = {
    toolset: item.unused.toolset.filter((t) => agent.toolset.includes(t)),
    roles: [],
    may_delegate_to: item.unused.may_delegate_to.filter((d) => agent.may_delegate_to.includes(d)),
  };
  if (removed.toolset.length + removed.may_delegate_to.length === 0) {
    await decided(deps, campaign.id, row.agent_id, { status: 'lapsed', removed: null, decided_by: by, decided_at: at, note: 'not certified by the due date; nothing unused to trim' });
    return;
  }
  await decided(deps, campaign.id, row.agent_id, { status: 'trimmed', removed: JSON.stringify(removed), decided_by: by, decided_at: at, note: 'not certified by the due date: unused rights removed' });
  await applyTrim(deps, agent, removed);
  await deps.audit.append(trimEvent(campaign, agent.id, null, removed, `not certified by ${campaign.due_at}: rights unused for ${campaign.unused_days} days removed`));
}

/**
 * Close a campaign: every undecided item gets the campaign's action, then the outcome is signed
 * and kept. Only one caller (replica) closes it; the others get `ERR_REVIEW_CLOSED`.
 */
export async function closeCampaign(deps: ReviewDeps, id: string, by: string | null): Promise<Campaign> {
  const campaign = await campaignRow(deps, id);
  const repo = reviewsRepository(deps.store.db);
  if (campaign.status !== 'open' || !(await repo.closeCampaign(id, deps.now().toISOString()))) throw new MandateError('ERR_REVIEW_CLOSED', `campaign ${id} is closed already`);
  for (const row of (await repo.items(id)).filter((i) => i.status === 'pending')) await lapse(deps, campaign, row);
  const closed = await getCampaign(deps, id);
  const signed = signReviewReport(closed, closed.items!, { closedBy: by, trustDomain: deps.trustDomain, key: deps.checkpointKey, now: deps.now() });
  await repo.setReport(id, JSON.stringify(signed));
  await deps.audit.append({
    chain: SYSTEM_CHAIN,
    type: 'lifecycle.review_closed',
    actor: { instance: null, agent: null, person: by, delegation: [] },
    action: 'review:close',
    resource: id,
    status: 'success',
    data: { campaign: id },
    reasons: { message: Object.entries(closed.counts).map(([k, v]) => `${k} ${v}`).join(', ') },
  });
  return closed;
}

/** The signed report of a closed campaign. */
export async function campaignReport(deps: Pick<ReviewDeps, 'store'>, id: string): Promise<SignedReviewReport> {
  const row = await campaignRow(deps, id);
  if (!row.report) throw new MandateError('ERR_REVIEW_NOT_FOUND', `campaign ${id} is open: its report is signed when it closes`);
  return JSON.parse(row.report) as SignedReviewReport;
}

/** The periodic check: remind owners, close campaigns past their due date. Returns what it did. */
export async function reviewTick(deps: ReviewDeps, remindEverySeconds = 86_400): Promise<{ reminded: number; closed: string[] }> {
  const reminded = await remindOwners(deps, remindEverySeconds);
  const closed: string[] = [];
  for (const campaign of await reviewsRepository(deps.store.db).dueCampaigns(deps.now().toISOString())) {
    try {
      await closeCampaign(deps, campaign.id, null);
      closed.push(campaign.id);
    } catch (error) {
      if (!(error instanceof MandateError && error.code === 'ERR_REVIEW_CLOSED')) throw error;
    }
  }
  return { reminded, closed };
}
