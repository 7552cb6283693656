/**
 * What arguments cost a decision: 1,000 deployment-shaped policies, with and without one more
 * policy on `context.args` (`amount > 50` forbids), over requests that carry a tool's arguments
 * (customer id, amount, a note, a nested filter). Median and p99 (µs) for Cedar asked every time
 * (sliced) and for the default (answers remembered). And the records step's check of a mandate's
 * record constraints against the same arguments.
 *
 *   node bench/policy-args.ts [--rounds 3] [--requests 2000]   (or BENCH_ROUNDS, BENCH_REQUESTS)
 */
import { parseArgs } from 'node:util';
import { argsFragment } from '../src/policy/args-schema.ts';
import { Authorizer } from '../src/policy/authorizer.ts';
import { loadPolicySet } from '../src/policy/policy-set.ts';
import { schemaWithArgs } from '../src/policy/schema.ts';
import { deploymentPolicies, deploymentRequests } from '../src/policy/synthetic/index.ts';
import { parseRecordDetail, recordBreach } from '../src/tokens/records.ts';
import { report, row as figure } from './summary.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: process.env.BENCH_ROUNDS ?? '3' },
    requests: { type: 'string', default: process.env.BENCH_REQUESTS ?? '2000' },
  },
});
const rounds = Number(values.rounds);
const count = Number(values.requests);

const tool = { type: 'object', properties: { customer_id: { type: 'string' }, amount: { type: 'integer' }, note: { type: 'string' }, filter: { type: 'object', properties: { status: { type: 'string' } } } } };
const schema = schemaWithArgs(argsFragment([{ name: 'orders/refund', schema: tool }]));
const base = deploymentPolicies(1000, 1000);
const limit = { file: 'args.cedar', text: '@id("refund-limit")\nforbid (principal, action, resource) when { context has args && context.args has amount && context.args.amount > 50 };\n' };
const sets = { plain: loadPolicySet(base, { schema }), args: loadPolicySet([...base, limit], { schema }) };
// Arguments vary as a workload's would: 50 customers, amounts 0..199.
const requests = deploymentRequests(count, 1001, 1000).map((request, i) => ({
  ...request,
  context: { ...request.context, args: { customer_id: String(i % 50), amount: (i * 7) % 200, note: `refund ${i % 13}`, filter: { status: 'open' } } },
}));

const quantile = (samples: number[], q: number) => Math.round(Float64Array.from(samples).sort()[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? Number.NaN);

function timed(run: (request: unknown) => unknown): number[] {
  for (const request of requests) run(request);
  const wall: number[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const request of requests) {
      const t = performance.now();
      run(request);
      wall.push((performance.now() - t) * 1000);
    }
  }
  return wall;
}

const rows: Record<string, string | number>[] = [];
const measured: Record<string, number[]> = {};
for (const [name, set] of Object.entries(sets)) {
  for (const remember of [false, true]) {
    const authorizer = new Authorizer(set, { remember });
    const wall = timed((request) => authorizer.decide(request));
    const mode = `${name} ${remember ? 'remembered' : 'sliced'}`;
    measured[mode] = wall;
    rows.push({ policies: `1,000${name === 'args' ? ' + 1 on context.args' : ''}`, mode: remember ? 'remembered' : 'sliced', p50: quantile(wall, 0.5), p99: quantile(wall, 0.99) });
  }
}
const constraints = parseRecordDetail({ type: 'mandate_record', fields: { customer_id: ['7', '42'], amount: { max: 100 } } });
const checks = timed((request) => recordBreach(constraints, (request as { context: { args: Record<string, unknown> } }).context.args));
rows.push({ policies: 'records step (2 constrained fields)', mode: 'check', p50: quantile(checks, 0.5), p99: quantile(checks, 0.99) });
console.log('latency in µs per decision (or per record check)');
console.table(rows);
report([
  figure('Cedar asked p99, 1,000 policies + one on context.args', quantile(measured['args sliced']!, 0.99), 'µs', quantile(measured['plain sliced']!, 0.99), null),
  figure('record constraints check p99', quantile(checks, 0.99), 'µs', null, null),
]);
