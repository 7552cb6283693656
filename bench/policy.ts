/**
 * Decision latency of the policy engine, in process: median and p99 (µs) and decisions per second
 * for generated deployment-shaped policy sets of 10, 100 and 1,000 policies: sliced with Cedar asked
 * every time, sliced with answers remembered (what Mandate runs; the requests repeat), and the whole
 * set evaluated at every call (the reference), in the same run.
 *
 * The p99 is wall-clock: on a busy machine it counts the time the process was not running.
 *
 *   node bench/policy.ts [--rounds 5] [--requests 2000]   (or BENCH_ROUNDS, BENCH_REQUESTS)
 */
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Authorizer } from '../src/policy/authorizer.ts';
import { loadPolicySet } from '../src/policy/policy-set.ts';
import { deploymentPolicies, deploymentRequests } from '../src/policy/synthetic/index.ts';
import { atMost, report, row as figure, type SummaryRow } from './summary.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: process.env.BENCH_ROUNDS ?? '5' },
    requests: { type: 'string', default: process.env.BENCH_REQUESTS ?? '2000' },
  },
});
const rounds = Number(values.rounds);
const requestCount = Number(values.requests);

interface Samples {
  wall: number[];
  elapsedMs: number;
}

function measure(authorizer: Authorizer, requests: readonly unknown[], into: Samples): void {
  const start = performance.now();
  for (const request of requests) {
    const t = performance.now();
    authorizer.decide(request);
    into.wall.push((performance.now() - t) * 1000);
  }
  into.elapsedMs += performance.now() - start;
}

const quantile = (samples: number[], q: number) => {
  const sorted = Float64Array.from(samples).sort();
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN);
};

const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
console.log(`cpus ${availableParallelism()}, load average ${load()} (other processes skew wall p99)`);

const rows: Record<string, string | number>[] = [];
const summary: SummaryRow[] = [];
for (const size of [10, 100, 1000]) {
  const set = loadPolicySet(deploymentPolicies(size, size));
  const requests = deploymentRequests(requestCount, size + 1, size);
  const authorizers = { sliced: new Authorizer(set, { remember: false }), remembered: new Authorizer(set), full: new Authorizer(set, { slicing: false }) };
  // Warm-up: JIT, and every slice the requests reach preparsed once (as after a reload).
  const warm = performance.now();
  for (const request of requests) authorizers.sliced.decide(request);
  const warmMs = performance.now() - warm;
  for (const request of requests) authorizers.remembered.decide(request);
  for (const request of requests.slice(0, 200)) authorizers.full.decide(request);

  const samples: Record<'sliced' | 'remembered' | 'full', Samples> = {
    sliced: { wall: [], elapsedMs: 0 },
    remembered: { wall: [], elapsedMs: 0 },
    full: { wall: [], elapsedMs: 0 },
  };
  for (let round = 0; round < rounds; round++) {
    measure(authorizers.sliced, requests, samples.sliced);
    measure(authorizers.remembered, requests, samples.remembered);
    measure(authorizers.full, requests, samples.full);
  }
  const row: Record<string, string | number> = { policies: size };
  for (const mode of ['sliced', 'remembered', 'full'] as const) {
    const s = samples[mode];
    row[`${mode} p50`] = quantile(s.wall, 0.5);
    row[`${mode} p99`] = quantile(s.wall, 0.99);
    row[`${mode} /s`] = Math.round((s.wall.length / s.elapsedMs) * 1000);
  }
  row['cold ms'] = Math.round(warmMs);
  rows.push(row);
  if (size === 1000) {
    const p99 = (mode: 'sliced' | 'remembered' | 'full') => quantile(samples[mode].wall, 0.99);
    // The baseline is the whole set evaluated at every call, the reference slicing is checked against.
    summary.push(
      figure('Cedar asked p99, 1,000 policies (vs whole set)', p99('sliced'), 'µs', p99('full'), atMost(150, 'µs')),
      figure('Cedar remembered p99, 1,000 policies, context', p99('remembered'), 'µs', p99('full'), null),
    );
  }
}
console.log('latency in µs; /s = decisions per second; cold ms = first pass over the requests (preparse)');
console.log('sliced: Cedar asked every time; remembered: the same requests again, answered from memory (the default)');
console.table(rows);
console.log(`load average after: ${load()}`);
report(summary);
