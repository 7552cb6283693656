import { budgetsRepository } from '../store/repositories/budgets.ts';
import { mandatesRepository } from '../store/repositories/mandates.ts';
import type { Queryable, Store } from '../store/store.ts';
import type { MandateClaims } from '../tokens/mandate.ts';

/** One mandate of a delegation chain and its budget, the call's own mandate first. */
interface Link {
  jti: string;
  budget: number;
}

export interface BudgetStanding {
  /** The mandate's own budget and spend. */
  limit: number;
  spent: number;
  /** What is left for this call: the least left anywhere up the delegation chain. */
  remaining: number;
}

export interface Debit extends BudgetStanding {
  /** Mandates of the chain this debit spent to zero: they end. */
  exhausted: string[];
}

const CHAIN_CACHE = 10_000;

/**
 * Budgets per mandate, spent atomically. A sub-agent's spending counts against every mandate up
 * its chain too (DESIGN §5: never exceed the parent), so a parent cannot multiply its budget by
 * delegating. Each debit is, per mandate, one upsert `spent = spent + cost WHERE spent + cost <=
 * budget`, all in one transaction: two replicas can never both spend the last units.
 */
export class BudgetLedger {
  readonly #store: Store;
  /** Chains are immutable facts of issued mandates. */
  readonly #chains = new Map<string, Link[]>();

  constructor(store: Store) {
    this.#store = store;
  }

  async standing(claims: MandateClaims): Promise<BudgetStanding> {
    const chain = await this.#chain(claims);
    const spentOf = await this.#spent(chain.map((l) => l.jti));
    return standingOf(chain, spentOf);
  }

  /**
   * Spend `cost` on the mandate and its ancestors, or throw `Unaffordable` when any of them cannot
   * afford it. Run it inside a transaction, so a refusal further up rolls the whole debit back.
   */
  async debit(db: Queryable, claims: MandateClaims, cost: number, now: Date): Promise<Debit> {
    const chain = await this.#chain(claims);
    const at = now.toISOString();
    const spentOf = new Map<string, number>();
    const budgets = budgetsRepository(db);
    // Root first: concurrent debits lock shared ancestors in the same order.
    for (const link of [...chain].reverse()) {
      if (cost > link.budget) throw new Unaffordable();
      // One statement: the row appears at first use, and the guard makes overspending impossible.
      const spent = await budgets.debit(link.jti, link.budget, cost, at);
      if (spent === undefined) throw new Unaffordable();
      spentOf.set(link.jti, spent);
    }
    const exhausted = chain.filter((l) => l.budget > 0 && l.budget - (spentOf.get(l.jti) ?? 0) <= 0).map((l) => l.jti);
    return { ...standingOf(chain, spentOf), exhausted };
  }

  /** Give back a debit whose call was not forwarded after all (its decision could not be audited). */
  async refund(claims: MandateClaims, cost: number, now: Date): Promise<void> {
    const chain = await this.#chain(claims);
    await budgetsRepository(this.#store.db).refund(
      chain.map((l) => l.jti),
      cost,
      now.toISOString(),
    );
  }

  async #spent(jtis: string[]): Promise<Map<string, number>> {
    return budgetsRepository(this.#store.db).spent(jtis);
  }

  async #chain(claims: MandateClaims): Promise<Link[]> {
    const own = { jti: claims.jti, budget: claims.budget };
    if (!claims.parent_jti) return [own];
    const cached = this.#chains.get(claims.jti);
    if (cached) return cached;
    const chain = [own];
    for (let parent: string | null = claims.parent_jti; parent && chain.length <= 64; ) {
      const row = await mandatesRepository(this.#store.db).find(parent);
      if (!row) break;
      chain.push({ jti: row.jti, budget: Number(row.budget) });
      parent = row.parent_jti;
    }
    if (this.#chains.size >= CHAIN_CACHE) this.#chains.clear();
    this.#chains.set(claims.jti, chain);
    return chain;
  }
}

/** Thrown by `debit` to roll its transaction back. */
export class Unaffordable extends Error {}

function standingOf(chain: Link[], spentOf: Map<string, number>): BudgetStanding {
  const own = chain[0]!;
  const spent = spentOf.get(own.jti) ?? 0;
  const remaining = Math.min(...chain.map((l) => l.budget - (spentOf.get(l.jti) ?? 0)));
  return { limit: own.budget, spent, remaining: Math.max(0, remaining) };
}
