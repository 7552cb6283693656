import type { Logger } from 'pino';
import type { AuditEvent } from '../audit/event.ts';
import { type AuditWriter, SYSTEM_CHAIN } from '../audit/writer.ts';
import type { FeedStatus } from '../cluster/feed.ts';
import { approvalBacklog } from '../governance/approvals.ts';
import { alertCooldownsRepository } from '../store/repositories/alert-cooldowns.ts';
import type { Queryable } from '../store/store.ts';
import { alertsRaised, alertsSuppressed } from '../telemetry/metrics.ts';
import { type AlertConfig, type AlertRule, ruleName } from './config.ts';
import type { SinkLagSource } from './sink-lag.ts';

export type Severity = 'warning' | 'critical';

export interface AlertDeps {
  /** The trail alerts are written to (`alert.raised`); the notification sinks deliver them from there. */
  audit: AuditWriter;
  db: Queryable;
  now: () => Date;
  logger: Pick<Logger, 'warn'>;
  /** This replica's change feed. */
  feed: { readonly id: string; status(): FeedStatus };
  sinkLags?: readonly SinkLagSource[];
}

/** Agents whose refusals are counted at once; past this the window starts over (bounded memory). */
const TRACKED_AGENTS = 10_000;
const DECISIONS = new Set(['tool.decision', 'http.decision']);

/**
 * Alert rules over what Mandate sees:
 *
 *   rule                     fires when                                                   subject
 *   anomaly                  an anomaly of risk ≥ minRisk (or a `suspend` response)      agent
 *   refusal-burst            an agent has ≥ refusals refused calls within windowSeconds   agent
 *   approval-backlog         more than `pending` approvals wait, or one waits too long    approvals
 *   sink-lag                 a sink has too many events waiting, or too old ones          sink
 *   replica-unsynchronized   this replica has not followed every change for `seconds`     replica
 *   audit-verification       a verification of the trail found a break                   trail
 *
 * The first two watch the trail as it is written (`observe`); the next three are checked every
 * `checkEverySeconds`; the last is reported by whoever verified. An alert is an `alert.raised`
 * event on the system chain: notification sinks subscribed to it deliver it. One rule raises for
 * one subject at most once per `cooldownSeconds` across every replica of one database; the hits in
 * between are counted (metrics).
 */
export class Alerts {
  readonly #deps: AlertDeps;
  #config: AlertConfig;
  /** `<rule>:<subject>` → when it last raised here (ms). */
  readonly #raised = new Map<string, number>();
  /** agent → times (ms) of its recent refusals, oldest first. */
  readonly #refusals = new Map<string, number[]>();
  #timer: NodeJS.Timeout | undefined;
  #checking: Promise<void> | undefined;

  constructor(deps: AlertDeps, config: AlertConfig) {
    this.#deps = deps;
    this.#config = config;
  }

  get config(): AlertConfig {
    return this.#config;
  }

  start(): void {
    this.#timer = setInterval(() => void this.check(), this.#config.checkEverySeconds * 1000);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#checking;
  }

  /** Every event once durable. Cheap: a type test for most. */
  observe(event: AuditEvent): void {
    if (event.type === 'anomaly.detected') this.#anomaly(event);
    else if (event.decision === 'deny' && DECISIONS.has(event.type)) this.#refused(event);
  }

  /** The periodic checks, once (the timer runs them; tests call it). */
  check(): Promise<void> {
    this.#checking ??= Promise.all([this.#backlog(), this.#sinks(), this.#replica()])
      .then(() => {})
      .catch((error: unknown) => this.#deps.logger.warn({ err: (error as Error).message }, 'alert checks failed; retrying'))
      .finally(() => (this.#checking = undefined));
    return this.#checking;
  }

  /** A verification of the trail found breaks. */
  async verificationFailed(breaks: number, scope: string): Promise<void> {
    if (!this.#config.auditVerification.enabled) return;
    await this.raise('auditVerification', 'trail', 'critical', `audit verification of ${scope} found ${breaks} break(s): the trail may have been tampered with`);
  }

  #anomaly(event: AuditEvent): void {
    const rule = this.#config.anomaly;
    const risk = event.reasons?.risk ?? 0;
    const message = event.reasons?.message ?? '';
    const suspends = message.endsWith('(response: suspend)');
    if (!rule.enabled || (risk < rule.minRisk && !suspends)) return;
    const agent = event.actor.agent ?? event.actor.instance ?? 'unknown';
    void this.raise('anomaly', agent, suspends || risk >= 80 ? 'critical' : 'warning', `anomaly on ${event.resource ?? 'a call'} by agent ${agent} (risk ${risk}): ${message}`, event);
  }

  #refused(event: AuditEvent): void {
    const rule = this.#config.refusalBurst;
    const agent = event.actor.agent;
    if (!rule.enabled || !agent) return;
    const now = Date.parse(event.time);
    const since = now - rule.windowSeconds * 1000;
    if (!this.#refusals.has(agent) && this.#refusals.size >= TRACKED_AGENTS) this.#refusals.clear();
    const times = (this.#refusals.get(agent) ?? []).filter((t) => t > since);
    times.push(now);
    // Only the last `refusals` times can decide the next firing.
    if (times.length > rule.refusals) times.splice(0, times.length - rule.refusals);
    this.#refusals.set(agent, times);
    if (times.length >= rule.refusals) {
      void this.raise('refusalBurst', agent, 'warning', `agent ${agent} had ${times.length} calls refused within ${rule.windowSeconds} s (latest: ${event.denial_reason ?? 'refused'} on ${event.resource ?? '?'})`, event);
    }
  }

  async #backlog(): Promise<void> {
    const rule = this.#config.approvalBacklog;
    if (!rule.enabled) return;
    const { pending, oldestSeconds } = await approvalBacklog(this.#deps.db, this.#deps.now());
    if (pending > rule.pending || (pending > 0 && oldestSeconds > rule.oldestSeconds)) {
      await this.raise('approvalBacklog', 'approvals', 'warning', `${pending} approval(s) wait for a person; the oldest for ${Math.round(oldestSeconds)} s`);
    }
  }

  async #sinks(): Promise<void> {
    const rule = this.#config.sinkLag;
    if (!rule.enabled) return;
    for (const source of this.#deps.sinkLags ?? []) {
      for (const lag of await source.sinkLags()) {
        if (lag.events > rule.events || (lag.events > 0 && lag.oldestSeconds > rule.oldestSeconds)) {
          await this.raise('sinkLag', lag.sink, 'warning', `sink ${lag.sink} lags: ${lag.events} event(s) waiting, the oldest for ${Math.round(lag.oldestSeconds)} s`);
        }
      }
    }
  }

  async #replica(): Promise<void> {
    const rule = this.#config.replicaUnsynchronized;
    const status = this.#deps.feed.status();
    if (!rule.enabled || status.synchronized || status.reason === 'closed') return;
    const seconds = (this.#deps.now().getTime() - Date.parse(status.since)) / 1000;
    if (seconds <= rule.seconds) return;
    await this.raise('replicaUnsynchronized', this.#deps.feed.id, 'critical', `replica ${this.#deps.feed.id} has not been synchronized for ${Math.round(seconds)} s (${status.reason ?? 'unknown reason'}); it refuses calls until it is`);
  }

  /**
   * Raise unless the same rule raised for the same subject within the cooldown, on this replica
   * (memory, no store round trip) or on any other (a claim in the store, one conditional upsert).
   */
  async raise(rule: AlertRule, subject: string, severity: Severity, message: string, cause?: AuditEvent): Promise<AuditEvent | null> {
    const key = `${ruleName[rule]}:${subject.slice(0, 300)}`;
    const now = this.#deps.now().getTime();
    const cooldown = this.#config.cooldownSeconds * 1000;
    const last = this.#raised.get(key);
    if (last !== undefined && now - last < cooldown) {
      alertsSuppressed.labels(ruleName[rule]).inc();
      return null;
    }
    this.#raised.set(key, now);
    const at = new Date(now).toISOString();
    const cooldowns = alertCooldownsRepository(this.#deps.db);
    let claimed: boolean;
    try {
      claimed = await cooldowns.claim(key, at, new Date(now - cooldown).toISOString());
    } catch (error) {
      this.#raised.delete(key);
      this.#deps.logger.warn({ rule: ruleName[rule], err: (error as Error).message }, 'alert cooldown could not be read; the next hit tries again');
      return null;
    }
    if (!claimed) {
      alertsSuppressed.labels(ruleName[rule]).inc();
      return null;
    }
    alertsRaised.labels(ruleName[rule], severity).inc();
    try {
      return await this.#deps.audit.append({
        chain: SYSTEM_CHAIN,
        type: 'alert.raised',
        actor: { instance: cause?.actor.instance ?? null, agent: cause?.actor.agent ?? null, person: cause?.actor.person ?? null, delegation: cause?.actor.delegation ?? [] },
        action: `alert:${ruleName[rule]}`,
        resource: subject,
        status: 'success',
        trace_id: cause?.trace_id ?? null,
        reasons: { message: message.slice(0, 4000) },
        data: { rule: ruleName[rule], severity, ...(cause ? { resources: [cause.id] } : {}) },
      });
    } catch (error) {
      // Not recorded: the next hit may raise it again.
      this.#raised.delete(key);
      await cooldowns.release(key, at).catch(() => {});
      this.#deps.logger.warn({ rule: ruleName[rule], err: (error as Error).message }, 'alert could not be recorded');
      return null;
    }
  }
}
