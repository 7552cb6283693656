import { SYSTEM_CHAIN } from '../audit/writer.ts';
import { mandatesRevoked } from '../cluster/changes.ts';
import { MandateError } from '../errors.ts';
import { changeAgentStatus, findAgent } from '../registry/agents.ts';
import { type ReviewCampaignRow, type ReviewItemRow, reviewsRepository } from '../store/repositories/reviews.ts';
import { revokeAgentMandates } from '../tokens/revocation.ts';
import { applyTrim, decided, trimEvent } from './review-decisions.ts';
import { signReviewReport, type SignedReviewReport } from './review-report.ts';
import { type Campaign, campaignRow, getCampaign, type Granted, itemOf, reviewEvent, type ReviewDeps } from './reviews.ts';

// The due date of an access review: reminders, the campaign's action on what nobody decided, the close and its signed report.

/** Remind the owners of pending items of open campaigns not told (asked or reminded) within `everySeconds`. */
export async function remindOwners(deps: ReviewDeps, everySeconds = 86_400, campaignId?: string): Promise<number> {
  const now = deps.now();
  const repo = reviewsRepository(deps.store.db);
  const campaigns = campaignId ? [await campaignRow(deps, campaignId)] : await repo.listCampaigns({ status: 'open' });
  let sent = 0;
  for (const campaign of campaigns.filter((c) => c.status === 'open')) {
    for (const item of (await repo.items(campaign.id)).filter((i) => i.status === 'pending')) {
      // The request at the start counts as the first notice.
      if (now.getTime() - Date.parse(item.reminded_at ?? campaign.created_at) < everySeconds * 1000) continue;
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
 * Close a campaign: it turns `closing` (no owner decides any more), every undecided item gets the
 * campaign's action, then the outcome is signed and the campaign is `closed`. Only one caller
 * (replica) closes it; the others get `ERR_REVIEW_CLOSED`. A closer that dies leaves it
 * `closing`; the periodic check takes it over after `CLOSING_TIMEOUT_MS` and finishes what is
 * left (items already decided stay as they are).
 */
export const CLOSING_TIMEOUT_MS = 5 * 60_000;

export async function closeCampaign(deps: ReviewDeps, id: string, by: string | null, takeOverBefore?: string): Promise<Campaign> {
  const campaign = await campaignRow(deps, id);
  const repo = reviewsRepository(deps.store.db);
  if (campaign.status === 'closed' || !(await repo.beginClose(id, deps.now().toISOString(), takeOverBefore))) throw new MandateError('ERR_REVIEW_CLOSED', `campaign ${id} is ${campaign.status === 'open' ? 'being closed' : campaign.status} already`);
  for (const row of (await repo.items(id)).filter((i) => i.status === 'pending')) {
    try {
      await lapse(deps, campaign, row);
    } catch (error) {
      // Decided by a closer this one took over from: it stays as that one left it.
      if (!(error instanceof MandateError && error.code === 'ERR_REVIEW_ITEM_DECIDED')) throw error;
    }
  }
  const closing = await getCampaign(deps, id);
  const closed: Campaign = { ...closing, status: 'closed' };
  const signed = signReviewReport(closed, closed.items!, { closedBy: by, trustDomain: deps.trustDomain, key: deps.checkpointKey, now: deps.now() });
  await repo.finishClose(id, JSON.stringify(signed));
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
  const now = deps.now();
  const stuckBefore = new Date(now.getTime() - CLOSING_TIMEOUT_MS).toISOString();
  for (const campaign of await reviewsRepository(deps.store.db).dueCampaigns(now.toISOString(), stuckBefore)) {
    try {
      await closeCampaign(deps, campaign.id, null, stuckBefore);
      closed.push(campaign.id);
    } catch (error) {
      if (!(error instanceof MandateError && error.code === 'ERR_REVIEW_CLOSED')) throw error;
    }
  }
  return { reminded, closed };
}
