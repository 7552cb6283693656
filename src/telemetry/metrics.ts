// Prometheus domain metrics: what operators watch (decisions, steps, exchanges, anomalies, budgets, the trail, the change feed)
import { Counter, Histogram, type Metric, Registry } from 'prom-client';
import { type Exposed, FastCounter, FastHistogram, type HistogramChild } from './fast-metrics.ts';

/**
 * One registry for the process, made where the events happen (enforcement, tokens, governance,
 * audit, cluster) and exposed at `/metrics` by every server the process runs. Counters and
 * histograms only, with labels from small fixed sets (no agent, person or tool names): recording
 * costs a label-key lookup and an addition on the hot path.
 */
export const domainRegistry = new Registry();
const registers = [domainRegistry];
/** A hot-path metric (./fast-metrics.ts) in the registry. */
const hot = <T extends Exposed>(metric: T): T => {
  domainRegistry.registerMetric(metric as unknown as Metric);
  return metric;
};

const FAST = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
const SLOW = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Decisions by enforcement point (`gateway`, `broker`), outcome (`allow`, `deny`) and code (`ERR_…`, empty when allowed): `inc([point, outcome, code])`. */
export const decisions = hot(new FastCounter('mandate_decisions_total', 'Decisions by enforcement point, outcome and code', ['point', 'outcome', 'code']));

const stepSeconds = hot(new FastHistogram('mandate_decision_step_duration_seconds', 'Latency of each step of the decision path', ['step'], FAST));
const steps = new Map<string, HistogramChild>();
/** The histogram of one step, made once. */
export function stepTimer(step: string): HistogramChild {
  let child = steps.get(step);
  if (!child) steps.set(step, (child = stepSeconds.child([step])));
  return child;
}

/** Token exchanges by outcome (`issued`, `refused`, `failed`) and code: `inc([outcome, code])`. */
export const exchanges = hot(new FastCounter('mandate_token_exchanges_total', 'Token exchanges by outcome and code', ['outcome', 'code']));

/** Anomalies by rule (`new-tool`, `burst`, …) and response (`record`, `approve`, `suspend`). */
export const anomalies = new Counter({ name: 'mandate_anomalies_total', help: 'Anomalies detected by rule and response', labelNames: ['rule', 'response'] as const, registers });

export const budgetSpent = hot(new FastCounter('mandate_budget_spent_total', 'Budget units debited by allowed calls', []));

export const auditCommitSeconds = hot(new FastHistogram('mandate_audit_append_duration_seconds', 'Latency of one audit commit (a group of appends in one transaction)', [], FAST));
export const auditBatchSize = hot(new FastHistogram('mandate_audit_batch_size', 'Audit events committed per transaction', [], [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000]));

/** Time from a change's timestamp (on the replica that made it) to being applied here, by origin. */
export const feedLag = new Histogram({ name: 'mandate_change_feed_lag_seconds', help: 'Time from a change to its application on this replica', labelNames: ['origin'] as const, buckets: SLOW, registers });
export const feedResyncs = new Counter({ name: 'mandate_change_feed_resyncs_total', help: 'Full resynchronizations of this replica', registers });
export const feedLosses = new Counter({ name: 'mandate_change_feed_losses_total', help: 'Times the change feed was lost (the replica stopped trusting its memory)', registers });
/** Revocations (mandates, instances, signing keys): time from the change to being applied on this replica. */
export const revocationPropagation = new Histogram({
  name: 'mandate_revocation_propagation_seconds',
  help: 'Time from a revocation to its application on this replica',
  labelNames: ['kind', 'origin'] as const,
  buckets: SLOW,
  registers,
});

export const alertsRaised = new Counter({ name: 'mandate_alerts_raised_total', help: 'Alerts raised by rule and severity', labelNames: ['rule', 'severity'] as const, registers });
export const alertsSuppressed = new Counter({ name: 'mandate_alerts_suppressed_total', help: 'Alert hits within a rule’s cooldown (counted, not sent)', labelNames: ['rule'] as const, registers });
