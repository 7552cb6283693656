import { type Metric, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FastCounter, FastHistogram } from './fast-metrics.ts';

describe('hot-path metrics in the Prometheus text format', () => {
  it('expose a counter per label combination and a histogram with cumulative buckets, sum and count', async () => {
    const registry = new Registry();
    const counter = new FastCounter('t_decisions_total', 'Decisions', ['point', 'outcome']);
    const histogram = new FastHistogram('t_step_seconds', 'Steps', ['step'], [0.01, 0.001, 0.1]);
    registry.registerMetric(counter as unknown as Metric);
    registry.registerMetric(histogram as unknown as Metric);
    counter.inc(['gateway', 'allow']);
    counter.inc(['gateway', 'allow'], 2);
    counter.inc(['broker', 'deny']);
    const policy = histogram.child(['policy']);
    for (const v of [0.0005, 0.005, 0.05, 5]) policy.observe(v);
    expect(await registry.metrics()).toBe(
      [
        '# HELP t_decisions_total Decisions',
        '# TYPE t_decisions_total counter',
        't_decisions_total{point="gateway",outcome="allow"} 3',
        't_decisions_total{point="broker",outcome="deny"} 1',
        '',
        '# HELP t_step_seconds Steps',
        '# TYPE t_step_seconds histogram',
        't_step_seconds_bucket{step="policy",le="0.001"} 1',
        't_step_seconds_bucket{step="policy",le="0.01"} 2',
        't_step_seconds_bucket{step="policy",le="0.1"} 3',
        't_step_seconds_bucket{step="policy",le="+Inf"} 4',
        't_step_seconds_sum{step="policy"} 5.0555',
        't_step_seconds_count{step="policy"} 4',
        '',
      ].join('\n'),
    );
  });
});
