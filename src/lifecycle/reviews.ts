import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { CheckpointKey } from '../audit/checkpoint-key.ts';
import { SYSTEM_CHAIN, type AuditWriter } from '../audit/writer.ts';
import type { ChangeFeed } from '../cluster/feed.ts';
import { MandateError } from '../errors.ts';
import type { AgentCard } from '../registry/agent-card.ts';
import { listAgents } from '../registry/agents.ts';
import { durationSeconds } from '../registry/duration.ts';
import { type ReviewCampaignRow, type ReviewItemRow, reviewsRepository } from '../store/repositories/reviews.ts';
import type { Store } from '../store/store.ts';
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
  /** Where the evidence starts: the window's start, or the agent's registration when it is younger (less to go on). */
  observed_since: string;
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
  status: 'open' | 'closing' | 'closed';
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

export async function campaignRow(deps: Pick<ReviewDeps, 'store'>, id: string): Promise<ReviewCampaignRow> {
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

export const reviewEvent = (type: string, item: { agent: string; owner: string | null }, campaign: ReviewCampaignRow, message: string) => ({
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
      observed_since: agent.created_at > since.toISOString() ? agent.created_at : since.toISOString(),
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
