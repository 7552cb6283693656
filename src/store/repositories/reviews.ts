import type { ReviewCampaignsTable, ReviewItemsTable } from '../schema.ts';
import type { Queryable } from '../store.ts';

export type ReviewCampaignRow = ReviewCampaignsTable;
export type ReviewItemRow = ReviewItemsTable;

const campaignOf = (row: ReviewCampaignRow): ReviewCampaignRow => ({ ...row, unused_days: Number(row.unused_days) });

/** Access review campaigns and their items: `src/lifecycle/reviews.ts` owns their meaning. */
export interface ReviewsRepository {
  insertCampaign(row: ReviewCampaignRow, items: readonly ReviewItemRow[]): Promise<void>;
  findCampaign(id: string): Promise<ReviewCampaignRow | undefined>;
  /** Newest first. */
  listCampaigns(filter?: { status?: string | undefined }): Promise<ReviewCampaignRow[]>;
  /** Open campaigns due at or before `at`, and campaigns whose closing began before `stuckBefore` (a closer that died). */
  dueCampaigns(at: string, stuckBefore: string): Promise<ReviewCampaignRow[]>;
  items(campaignId: string): Promise<ReviewItemRow[]>;
  item(campaignId: string, agentId: string): Promise<ReviewItemRow | undefined>;
  /** Compare-and-set on the item's status: false when it was no longer `from`. */
  decideItem(campaignId: string, agentId: string, from: string, changes: Pick<ReviewItemRow, 'status' | 'removed' | 'decided_by' | 'decided_at' | 'note'>): Promise<boolean>;
  markReminded(campaignId: string, agentId: string, at: string): Promise<void>;
  /** Compare-and-set open → closing (or a stuck closing → closing again, from `stuckBefore`): false when another caller (replica) has it. */
  beginClose(id: string, at: string, stuckBefore?: string): Promise<boolean>;
  /** closing → closed, with the signed report. */
  finishClose(id: string, report: string): Promise<void>;
  /** Pending items of open campaigns past their due date (for the hygiene report). */
  overdueItems(at: string): Promise<ReviewItemRow[]>;
}

export function reviewsRepository(db: Queryable): ReviewsRepository {
  return {
    insertCampaign: async (row, items) => {
      await db.insertInto('review_campaigns').values(row).execute();
      // Bounded batches: SQLite allows 32,766 bound parameters, an item has 11.
      for (let i = 0; i < items.length; i += 500) await db.insertInto('review_items').values(items.slice(i, i + 500)).execute();
    },
    findCampaign: async (id) => {
      const row = await db.selectFrom('review_campaigns').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? campaignOf(row) : undefined;
    },
    listCampaigns: async (filter = {}) => {
      let query = db.selectFrom('review_campaigns').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc');
      if (filter.status) query = query.where('status', '=', filter.status);
      return (await query.execute()).map(campaignOf);
    },
    dueCampaigns: async (at, stuckBefore) =>
      (
        await db
          .selectFrom('review_campaigns')
          .selectAll()
          .where((eb) => eb.or([eb.and([eb('status', '=', 'open'), eb('due_at', '<=', at)]), eb.and([eb('status', '=', 'closing'), eb('closed_at', '<', stuckBefore)])]))
          .orderBy('due_at')
          .execute()
      ).map(campaignOf),
    items: (campaignId) => db.selectFrom('review_items').selectAll().where('campaign_id', '=', campaignId).orderBy('agent_id').execute(),
    item: (campaignId, agentId) => db.selectFrom('review_items').selectAll().where('campaign_id', '=', campaignId).where('agent_id', '=', agentId).executeTakeFirst(),
    decideItem: async (campaignId, agentId, from, changes) => {
      const result = await db.updateTable('review_items').set(changes).where('campaign_id', '=', campaignId).where('agent_id', '=', agentId).where('status', '=', from).executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    markReminded: async (campaignId, agentId, at) => {
      await db.updateTable('review_items').set({ reminded_at: at }).where('campaign_id', '=', campaignId).where('agent_id', '=', agentId).execute();
    },
    beginClose: async (id, at, stuckBefore) => {
      const result = await db
        .updateTable('review_campaigns')
        .set({ status: 'closing', closed_at: at })
        .where('id', '=', id)
        .where((eb) => (stuckBefore === undefined ? eb('status', '=', 'open') : eb.or([eb('status', '=', 'open'), eb.and([eb('status', '=', 'closing'), eb('closed_at', '<', stuckBefore)])])))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    finishClose: async (id, report) => {
      await db.updateTable('review_campaigns').set({ status: 'closed', report }).where('id', '=', id).where('status', '=', 'closing').execute();
    },
    overdueItems: (at) =>
      db
        .selectFrom('review_items')
        .innerJoin('review_campaigns', 'review_campaigns.id', 'review_items.campaign_id')
        .selectAll('review_items')
        .where('review_campaigns.status', '=', 'open')
        .where('review_campaigns.due_at', '<=', at)
        .where('review_items.status', '=', 'pending')
        .orderBy('review_items.agent_id')
        .execute(),
  };
}
