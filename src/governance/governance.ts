import type { Logger } from 'pino';
import type { AuditWriter } from '../audit/writer.ts';
import type { ChangeFeed } from '../cluster/feed.ts';
import { MandateError } from '../errors.ts';
import type { Store } from '../store/store.ts';
import { type Approval, approvalStatus, type ApprovalStatus, decideApproval, getApproval } from './approvals.ts';
import { sweepBaselines } from './baseline.ts';
import { BudgetLedger } from './budgets.ts';
import { type GovernanceConfig, type GovernanceConfigInput, loadGovernanceConfig, mergeConfig, parseGovernanceConfig } from './config.ts';
import { approvalDecided } from './events.ts';
import type { GovernedCall } from './governed-call.ts';
import { CallGovernor } from './governor.ts';
import { sweepRateWindows } from './rate-limits.ts';

/** Where governance announces the mandates and instances it ends. */
export type ChangeSink = Pick<ChangeFeed, 'transaction'>;

const SWEEP_EVERY = 1000;
const WAIT_POLL_MS = 200;

/**
 * Runtime governance (DESIGN §1.6): budgets, rate limits, behavioral baselines with anomaly rules,
 * and human approvals. Stateless over the store, so every replica shares budgets, counters,
 * baselines and approvals; the clock is the caller's (`now` on every method).
 */
export class Governance {
  readonly store: Store;
  readonly ledger: BudgetLedger;
  #config: GovernanceConfig;
  #calls = 0;
  readonly #logger: Pick<Logger, 'warn'> | undefined;
  /** Tells every replica about the mandates and instances governance ends. */
  changes: ChangeSink | undefined;

  constructor(store: Store, config: GovernanceConfig = parseGovernanceConfig({}), logger?: Pick<Logger, 'warn'>) {
    this.store = store;
    this.ledger = new BudgetLedger(store);
    this.#config = config;
    this.#logger = logger;
  }

  /** A step that cannot change a decision any more failed: say so, never throw. */
  report(error: unknown, step: string): void {
    this.#logger?.warn({ step, err: (error as Error).message }, 'governance step failed after the decision');
  }

  get config(): GovernanceConfig {
    return this.#config;
  }

  /** Change settings at run time (validated; unspecified settings keep their value). */
  configure(patch: GovernanceConfigInput): GovernanceConfig {
    this.#config = parseGovernanceConfig(mergeConfig(this.#config, patch));
    return this.#config;
  }

  /** Governance's part in one call, asked by the steps of the decision path (`DECISION_PATH`). */
  govern(call: GovernedCall, audit: AuditWriter, now: Date): CallGovernor {
    if (++this.#calls % SWEEP_EVERY === 0) void this.#sweep(now);
    return new CallGovernor(this, call, audit, now);
  }

  /** An approver's decision, audited on the control plane's chain. */
  async decide(
    id: string,
    input: { verdict: 'granted' | 'denied'; by: string; identities?: readonly string[]; note?: string | null | undefined; audit: AuditWriter; now: Date },
  ): Promise<Approval> {
    const { separationOfDuties, ttlSeconds } = this.#config.approvals;
    if (input.verdict === 'granted' && separationOfDuties) {
      const pending = await getApproval(this.store.db, id, input.now);
      // Every name the approver goes by (operator subject and email) counts.
      const names = new Set([input.by, ...(input.identities ?? [])].map((n) => n.toLowerCase()));
      if ([pending.person, pending.owner].some((n) => n !== null && names.has(n.toLowerCase()))) {
        throw new MandateError('ERR_APPROVAL_SELF', `${input.by} may not approve a call made for them or by an agent they own`);
      }
    }
    const approval = await decideApproval(this.store.db, id, { verdict: input.verdict, by: input.by, note: input.note ?? null, now: input.now, ttlSeconds });
    await input.audit.append(approvalDecided(approval, input.by));
    return approval;
  }

  /**
   * The consent of the person the agent acts for: only for an approval marked `consent` (a
   * low-risk call every holding policy lets them approve), and only by that person, under any name
   * their verified token gives them (subject or email). Audited on the control plane's chain.
   */
  async consent(
    id: string,
    input: { verdict: 'granted' | 'denied'; person: { sub: string; email?: string | undefined }; note?: string | null | undefined; audit: AuditWriter; now: Date },
  ): Promise<Approval> {
    const pending = await getApproval(this.store.db, id, input.now);
    if (!pending.consent || pending.person === null) {
      throw new MandateError('ERR_CONSENT_NOT_ALLOWED', `approval ${id} needs an approver: the person may not consent to it`);
    }
    const names = new Set([input.person.sub, input.person.email].filter((n): n is string => !!n).map((n) => n.toLowerCase()));
    if (!names.has(pending.person.toLowerCase())) {
      throw new MandateError('ERR_CONSENT_WRONG_PERSON', `approval ${id} is for a call made on another person's behalf`);
    }
    const approval = await decideApproval(this.store.db, id, { verdict: input.verdict, by: input.person.sub, note: input.note ?? null, now: input.now, ttlSeconds: this.#config.approvals.ttlSeconds });
    await input.audit.append(approvalDecided(approval, input.person.sub, true));
    return approval;
  }

  /**
   * Hold an enforcement point's answer until a person decides, up to `approvals.waitSeconds`.
   * Polls the store, so a decision made through any replica is seen.
   */
  async awaitDecision(id: string, now: () => Date): Promise<ApprovalStatus | null> {
    const deadline = Date.now() + this.#config.approvals.waitSeconds * 1000;
    let status = await approvalStatus(this.store.db, id, now());
    while (status === 'pending' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(WAIT_POLL_MS, Math.max(1, deadline - Date.now()))));
      status = await approvalStatus(this.store.db, id, now());
    }
    return status;
  }

  async #sweep(now: Date): Promise<void> {
    try {
      await sweepRateWindows(this.store.db, now);
      await sweepBaselines(this.store.db, now);
    } catch {
      // Housekeeping only: the next sweep retries.
    }
  }
}

/** Governance for a server: settings from `<data dir>/governance.yaml`, or the defaults. */
export const openGovernance = (store: Store, dataDir: string, logger?: Logger, changes?: ChangeSink) => {
  const governance = new Governance(store, loadGovernanceConfig(dataDir), logger);
  if (changes) governance.changes = changes;
  return governance;
};
