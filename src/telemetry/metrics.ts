// Prometheus domain metrics: what operators watch (decisions, steps, exchanges, anomalies, budgets, the trail, the change feed)
import { Counter, Histogram, Registry } from 'prom-client';

/**
 * One registry for the process, made where the events happen (enforcement, tokens, governance,
 * audit, cluster) and exposed at `/metrics` by every server the process runs. Counters and
 * histograms only, with labels from small fixed sets (no agent, person or tool names): recording
 * costs a label-key lookup and an addition on the hot path.
 */
export const domainRegistry = new Registry();
const registers = [domainRegistry];

const FAST = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
const SLOW = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Decisions by enforcement point (`gateway`, `broker`), outcome (`allow`, `deny`) and code (`ERR_…`, empty when allowed). */
export const decisions = new Counter({ name: 'mandate_decisions_total', help: 'Decisions by enforcement point, outcome and code', labelNames: ['point', 'outcome', 'code'] as const, registers });

const stepSeconds = new Histogram({ name: 'mandate_decision_step_duration_seconds', help: 'Latency of each step of the decision path', labelNames: ['step'] as const, buckets: FAST, registers });
const steps = new Map<string, Histogram.Internal<'step'>>();
/** The histogram of one step, bound once (no label lookup per call). */
export function stepTimer(step: string): Histogram.Internal<'step'> {
  let bound = steps.get(step);
  if (!bound) steps.set(step, (bound = stepSeconds.labels(step)));
  return bound;
}

/** Token exchanges by outcome (`issued`, `refused`, `failed`) and code. */
export const exchanges = new Counter({ name: 'mandate_token_exchanges_total', help: 'Token exchanges by outcome and code', labelNames: ['outcome', 'code'] as const, registers });

/** Anomalies by rule (`new-tool`, `burst`, …) and response (`record`, `approve`, `suspend`). */
export const anomalies = new Counter({ name: 'mandate_anomalies_total', help: 'Anomalies detected by rule and response', labelNames: ['rule', 'response'] as const, registers });

export const budgetSpent = new Counter({ name: 'mandate_budget_spent_total', help: 'Budget units debited by allowed calls', registers });

export const auditCommitSeconds = new Histogram({ name: 'mandate_audit_append_duration_seconds', help: 'Latency of one audit commit (a group of appends in one transaction)', buckets: FAST, registers });
export const auditBatchSize = new Histogram({ name: 'mandate_audit_batch_size', help: 'Audit events committed per transaction', buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000], registers });

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
