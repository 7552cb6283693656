import { sql } from 'kysely';
import type { Queryable } from '../store.ts';

/** The spend of each mandate against its budget. */
export interface BudgetsRepository {
  /**
   * Add `cost` to the mandate's spend unless that would exceed `budget` (one statement, so two
   * replicas can never both spend the last units); the row appears at first use. Returns the new
   * spend, or undefined when the debit was refused.
   */
  debit(jti: string, budget: number, cost: number, at: string): Promise<number | undefined>;
  /** Take `cost` back off the spend of each mandate. */
  refund(jtis: readonly string[], cost: number, at: string): Promise<void>;
  /** Spend per mandate; mandates never debited are absent. */
  spent(jtis: readonly string[]): Promise<Map<string, number>>;
}

export function budgetsRepository(db: Queryable): BudgetsRepository {
  return {
    debit: async (jti, budget, cost, at) => {
      const row = await db
        .insertInto('mandate_budgets')
        .values({ jti, budget, spent: cost, updated_at: at })
        .onConflict((oc) =>
          oc
            .column('jti')
            .doUpdateSet({ spent: sql<number>`mandate_budgets.spent + excluded.spent`, updated_at: at })
            .where(sql<boolean>`mandate_budgets.spent + excluded.spent <= mandate_budgets.budget`),
        )
        .returning('spent')
        .executeTakeFirst();
      return row ? Number(row.spent) : undefined;
    },
    refund: async (jtis, cost, at) => {
      if (jtis.length === 0) return;
      await db
        .updateTable('mandate_budgets')
        .set((eb) => ({ spent: eb('spent', '-', cost), updated_at: at }))
        .where('jti', 'in', [...jtis])
        .execute();
    },
    spent: async (jtis) => {
      if (jtis.length === 0) return new Map();
      const rows = await db.selectFrom('mandate_budgets').select(['jti', 'spent']).where('jti', 'in', [...jtis]).execute();
      return new Map(rows.map((r) => [r.jti, Number(r.spent)]));
    },
  };
}
