import type { AuditWriter } from '../audit/writer.ts';
import type { Decision } from '../policy/decision.ts';
import type { Transaction } from 'kysely';
import type { Change } from '../cluster/changes.ts';
import { revokeAnnounced } from '../cluster/revoke.ts';
import type { Database } from '../store/schema.ts';
import type { Queryable } from '../store/store.ts';
import { revokeInstance, revokeMandates } from '../tokens/revocation.ts';
import { anomalies, budgetSpent } from '../telemetry/metrics.ts';
import { type Anomaly, detectAnomalies, ruleLabel } from './anomalies.ts';
import { type Approval, approvalForCall, type CallBinding, consumeApproval, insertApproval, newApprovalId, restoreApproval } from './approvals.ts';
import { type Baseline, type CallShape, learnCall, localTime, readBaseline } from './baseline.ts';
import { type BudgetStanding, type Debit, Unaffordable } from './budgets.ts';
import { anomalyDetected, approvalConsumed, approvalRequested, instanceSuspended, mandateExhausted } from './events.ts';
import { type ApprovalState, type ApprovalTicket, type GovernedCall, type Refusal, type Signals, toolKey } from './governed-call.ts';
import type { Governance } from './governance.ts';
import { writeCounters } from '../store/counters.ts';
import { countCall } from './rate-limits.ts';

/**
 * Governance's part of one call: what the `rate`, `budget`, `behavior`, `approval`, `commit` and
 * `settle` steps of the decision path (`DECISION_PATH` in src/enforcement/pipeline.ts) ask of it.
 * It keeps what one step learns for the next (budget standing, anomalies, the approval used) and
 * can undo `commit` when the decision cannot be recorded.
 */
export class CallGovernor {
  readonly #gov: Governance;
  readonly #call: GovernedCall;
  readonly #audit: AuditWriter;
  readonly #now: Date;
  readonly #shape: CallShape;
  #budget: BudgetStanding | null = null;
  #anomalies: Anomaly[] = [];
  #risk = 0;
  #use: string | null = null;
  #used = false;
  #requested: Pick<Approval, 'id' | 'why' | 'risk' | 'expires_at'> | null = null;
  #ticket: ApprovalTicket | null = null;
  #debit: Debit | null = null;
  #facts: Promise<[BudgetStanding, Baseline]> | null = null;
  #baseline: Baseline | null = null;
  /** `commitWithin` ran: governance's writes share the decision event's transaction. */
  #inDecision = false;

  constructor(gov: Governance, call: GovernedCall, audit: AuditWriter, now: Date) {
    this.#gov = gov;
    this.#call = call;
    this.#audit = audit;
    this.#now = now;
    this.#shape = {
      tool: toolKey(call.resource),
      ...localTime(now, gov.config.behavior.timeZone),
      chain: call.principal.delegation.length,
      destination: call.destination ?? null,
      minute: Math.floor(now.getTime() / 60_000),
    };
  }

  get #db() {
    return this.#gov.store.db;
  }

  get #cost(): number {
    return this.#call.resource.cost ?? 0;
  }

  /** Rate limits (instance, agent, person) → ERR_RATE_LIMITED, with the seconds to wait. */
  async limitRate(): Promise<Refusal | null> {
    const { principal } = this.#call;
    // The reads the budget and behavior steps need go out now, beside the count: on PostgreSQL they overlap.
    this.#facts = this.#readFacts();
    this.#facts.catch(() => {});
    const limits = this.#gov.config.rateLimits;
    // No limit set: no window to count (and no empty transaction).
    if (Object.values(limits).every((l) => l.limit === 0)) return null;
    const who = { instance: principal.instanceId, agent: principal.agentId, person: principal.person };
    const limited = await writeCounters(this.#gov.store, (db) => countCall(db, this.#gov.config.rateLimits, who, this.#now));
    if (!limited) return null;
    return {
      code: 'ERR_RATE_LIMITED',
      message: `rate limit reached: ${limited.limit} calls per ${limited.windowSeconds} s for this ${limited.scope}; retry after ${limited.retryAfter} s`,
      retryAfter: limited.retryAfter,
    };
  }

  /** Budget standing: a mandate whose budget is spent ends → ERR_BUDGET_EXHAUSTED. */
  async standing(): Promise<Refusal | Signals> {
    const { principal } = this.#call;
    const [budget, baseline] = await (this.#facts ?? this.#readFacts());
    this.#budget = budget;
    this.#baseline = baseline;
    if (budget.limit > 0 && budget.remaining <= 0 && this.#cost > 0) {
      // Normally ended by the call that spent the last unit; here when that could not finish.
      const revoked = await this.#revoke((trx) => revokeMandates(trx, [principal.claims.jti], this.#now));
      if (revoked.length > 0) await this.#audit.append(mandateExhausted(this.#call, budget, revoked));
      return { code: 'ERR_BUDGET_EXHAUSTED', message: `the mandate's budget is spent (${budget.spent} of ${budget.limit}): it has ended; obtain a new mandate` };
    }
    return { budgetRemaining: budget.remaining };
  }

  /**
   * Baseline + anomaly rules: anomalies raise the risk and are audited; a `suspend` response
   * revokes the instance → ERR_INSTANCE_SUSPENDED. Runs after `standing`.
   */
  async behavior(): Promise<Refusal | null> {
    const { principal } = this.#call;
    const baseline = this.#baseline ?? (await this.#readFacts())[1];
    const config = this.#gov.config.behavior;
    this.#anomalies = detectAnomalies({ agentId: principal.agentId, now: this.#now, shape: this.#shape, args: this.#call.args }, baseline, config);
    this.#risk = Math.min(100, this.#anomalies.reduce((sum, a) => sum + a.risk, 0));
    for (const anomaly of this.#anomalies) {
      anomalies.inc({ rule: ruleLabel[anomaly.rule], response: anomaly.response });
      await this.#audit.append(anomalyDetected(this.#call, anomaly));
    }
    const suspending = this.#anomalies.filter((a) => a.response === 'suspend');
    if (suspending.length === 0) return null;
    const revoked = await this.#revoke((trx) => revokeInstance(trx, principal.instanceId, this.#now), [{ kind: 'instance.revoked', id: principal.instanceId }]);
    await this.#audit.append(instanceSuspended(this.#call, suspending, revoked));
    return {
      code: 'ERR_INSTANCE_SUSPENDED',
      message: `unusual behavior (${suspending.map((a) => ruleLabel[a.rule]).join(', ')}): this agent instance is suspended and its mandates revoked; a person must review it`,
    };
  }

  #readFacts(): Promise<[BudgetStanding, Baseline]> {
    const { principal } = this.#call;
    return Promise.all([this.#gov.ledger.standing(principal.claims), readBaseline(this.#db, principal.agentId, this.#shape)]);
  }

  /**
   * Where a person is needed (a liftable forbid, or an anomaly whose response is `approve`): a
   * granted approval for this exact call lifts it; otherwise the call is held as a pending one.
   */
  async resolve(decision: Decision, decide: (approval: ApprovalState) => Decision): Promise<{ decision: Decision; refusal: Refusal | null }> {
    const policyAsks = decision.decision === 'deny' && decision.obligations.approval === 'required';
    const stepUp = decision.decision === 'allow' && this.#anomalies.some((a) => a.response === 'approve');
    if (!policyAsks && !stepUp) return { decision, refusal: null };
    const binding = this.#binding();
    const existing = await approvalForCall(this.#db, binding, this.#now);
    if (existing?.status === 'granted') {
      const lifted = policyAsks ? decide('granted') : decision;
      if (lifted.decision === 'allow') this.#use = existing.id;
      return { decision: lifted, refusal: null };
    }
    if (existing?.status === 'denied') {
      this.#ticket = { id: existing.id, status: 'denied', expiresAt: existing.expires_at };
      const by = existing.decided_by ? ` by ${existing.decided_by}` : '';
      return { decision, refusal: { code: 'ERR_APPROVAL_DENIED', message: `a person denied this call${by} (approval ${existing.id})`, approval: this.#ticket } };
    }
    const reasons = policyAsks ? [...decision.obligations.reasons] : ['unusual behavior: a person must approve this call'];
    const anomalies = this.#anomalies.filter((a) => a.response === 'approve').map((a) => `${ruleLabel[a.rule]}: ${a.evidence}`);
    // Consent only for what every holding policy marks so, never for a high-impact call or unusual behavior.
    const { resource } = this.#call;
    const lowImpact = (resource.type === 'tool' || resource.type === 'endpoint') && !resource.highImpact;
    const consent = policyAsks && !stepUp && decision.obligations.consent === true && lowImpact && this.#call.principal.person !== null;
    const why = { policies: policyAsks ? [...decision.policies] : [], reasons, anomalies, ...(consent ? { consent: true } : {}) };
    const held = existing ?? (await this.#hold(binding, why));
    this.#ticket = { id: held.id, status: 'pending', expiresAt: held.expires_at };
    return {
      decision,
      refusal: {
        code: 'ERR_APPROVAL_REQUIRED',
        message: `${reasons.join('; ')}. The call is held as approval ${held.id}: retry the identical call once a person approves it (expires ${held.expires_at})`,
        approval: this.#ticket,
      },
    };
  }

  /**
   * Everything an allowed call changes, in one write transaction (one commit to disk): consume the
   * approval, debit the budget, learn the call into the baseline. Should the decision then fail to
   * reach the trail, `rollback` gives back the debit and the approval; the baseline keeps the count.
   * Used where the trail cannot carry these writes (`commitWithin` is the one-commit path).
   */
  async commit(): Promise<Refusal | null> {
    try {
      // Budgets and approvals need a durable commit; a free call only counts into the baseline.
      const durable = this.#use !== null || this.#cost > 0;
      await (durable ? this.#gov.store.transaction((trx) => this.#commitIn(trx)) : writeCounters(this.#gov.store, (db) => this.#commitIn(db)));
      return null;
    } catch (error) {
      // The transaction did not commit: nothing to give back.
      this.#debit = null;
      this.#used = false;
      return this.refusalOf(error);
    }
  }

  /**
   * The same writes as `commit`, inside the transaction that appends the call's decision event
   * (the audit writer's `appendWithin`): one commit makes both durable, group-committed with other
   * calls. The guards are the same statements, so they stay exact across replicas. Throws
   * `ApprovalUsed` or `Unaffordable` (map with `refusalOf`); the writer then undoes these writes
   * alone. Should the whole transaction fail, nothing was written and `rollback` gives nothing back.
   */
  async commitWithin(db: Queryable): Promise<void> {
    this.#inDecision = true;
    await this.#commitIn(db);
  }

  async #commitIn(db: Queryable): Promise<void> {
    const { principal } = this.#call;
    const use = this.#use;
    if (use && !(await consumeApproval(db, use, this.#now))) throw new ApprovalUsed();
    const debit = this.#cost > 0 ? await this.#gov.ledger.debit(db, principal.claims, this.#cost, this.#now) : null;
    await learnCall(db, principal.agentId, this.#shape, this.#now);
    this.#debit = debit;
    this.#used = use !== null;
  }

  /** The refusal for an error of `commit`'s writes; anything but a spent approval or budget is a store failure. */
  refusalOf(error: unknown): Refusal {
    if (error instanceof ApprovalUsed) return { code: 'ERR_APPROVAL_USED', message: `approval ${this.#use} was already used by another call: retry to ask for a new one` };
    if (error instanceof Unaffordable) return { code: 'ERR_BUDGET_EXCEEDED', message: 'the budget left on the mandate no longer covers this call' };
    if (this.#inDecision) return { code: 'ERR_GOVERNANCE_UNAVAILABLE', message: 'budget, rate and behavior checks could not run, so the call is refused' };
    throw error;
  }

  /** Undo `commit` for a call that is refused after all (its decision could not be audited). */
  async rollback(): Promise<void> {
    // Writes made within the decision's transaction went with it.
    if (!this.#inDecision) {
      if (this.#debit) await this.#gov.ledger.refund(this.#call.principal.claims, this.#cost, this.#now);
      if (this.#used && this.#use) await restoreApproval(this.#db, this.#use);
    }
    this.#debit = null;
    this.#used = false;
  }

  /** What the decision's audit record carries from governance (besides the risk). */
  notes(): { budget?: BudgetStanding; approval?: string } {
    const budget = this.budget;
    const approval = this.#use ?? this.#ticket?.id;
    return { ...(budget ? { budget } : {}), ...(approval ? { approval } : {}) };
  }

  /** The behavior risk (0..100) `behavior` found. */
  get risk(): number {
    return this.#risk;
  }

  get approvalUsed(): string | null {
    return this.#used ? this.#use : null;
  }

  get budget(): BudgetStanding | null {
    const budget = this.#debit ?? this.#budget;
    return budget ? { limit: budget.limit, spent: budget.spent, remaining: budget.remaining } : null;
  }

  /** After the decision is in the trail. Failures here cannot change the decision, only be reported. */
  async settle(allowed: boolean): Promise<void> {
    try {
      await this.#settle(allowed);
    } catch (error) {
      this.#gov.report(error, 'settle');
    }
  }

  async #settle(allowed: boolean): Promise<void> {
    if (this.#requested) await this.#audit.append(approvalRequested(this.#call, this.#requested));
    if (!allowed) return;
    if (this.#debit) budgetSpent.inc([], this.#cost);
    if (this.#used && this.#use) await this.#audit.append(approvalConsumed(this.#call, this.#use));
    if (this.#debit && this.#debit.exhausted.length > 0) {
      const exhausted = this.#debit.exhausted;
      const revoked = await this.#revoke((trx) => revokeMandates(trx, exhausted, this.#now));
      await this.#audit.append(mandateExhausted(this.#call, this.#debit, revoked));
    }
  }

  /** Ends mandates atomically; every replica stops accepting them. */
  #revoke(work: (trx: Transaction<Database>) => Promise<string[]>, also: Change[] = []): Promise<string[]> {
    return revokeAnnounced(this.#gov.store, this.#gov.changes, work, also);
  }

  #binding(): CallBinding {
    return { jti: this.#call.principal.claims.jti, resource: this.#call.label, argsDigest: this.#call.argsDigest ?? '' };
  }

  async #hold(binding: CallBinding, why: Approval['why']): Promise<Pick<Approval, 'id' | 'why' | 'risk' | 'expires_at'>> {
    const { principal, card } = this.#call;
    const id = newApprovalId();
    const expires = new Date(this.#now.getTime() + this.#gov.config.approvals.ttlSeconds * 1000).toISOString();
    await insertApproval(this.#db, id, {
      instance: principal.instanceId,
      agent: principal.agentId,
      person: principal.person,
      owner: card.owner,
      action: this.#call.action,
      binding,
      why,
      risk: this.#risk,
      requested_at: this.#now.toISOString(),
      expires_at: expires,
    });
    this.#requested = { id, why, risk: this.#risk, expires_at: expires };
    return this.#requested;
  }
}

class ApprovalUsed extends Error {}
