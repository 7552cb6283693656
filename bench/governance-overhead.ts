/**
 * What runtime governance adds to a call: `decideCall` with the starter policies and an in-memory
 * audit writer, with governance off, on for a free tool (rate limits + budget standing + baseline
 * and anomaly rules + learning), and on for a priced tool (plus the atomic budget debit), in the
 * same run, interleaved round by round. Median and p99 per call (µs), and the added median.
 *
 *   node bench/governance-overhead.ts [--calls 2000] [--rounds 5] [--database-url postgres://…]
 *   (or BENCH_CALLS, BENCH_ROUNDS)
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { MemoryAuditWriter } from '../src/audit/memory-writer.ts';
import { type CallDeps, type CallRequest, decideCall } from '../src/enforcement/call.ts';
import { Governance } from '../src/governance/governance.ts';
import { openAuthorizer, seedPolicySet } from '../src/policy/runtime.ts';
import type { AgentCard } from '../src/registry/agent-card.ts';
import { openStore } from '../src/store/open.ts';
import { parseScope } from '../src/tokens/scope.ts';
import type { Principal } from '../src/tokens/verify-request.ts';
import { report, row } from './summary.ts';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: process.env.BENCH_CALLS ?? '2000' },
    rounds: { type: 'string', default: process.env.BENCH_ROUNDS ?? '5' },
    'database-url': { type: 'string' },
  },
});
const calls = Number(values.calls);
const rounds = Number(values.rounds);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mandate-bench-gov-'));
const schema = values['database-url'] ? `bench_${crypto.randomBytes(4).toString('hex')}` : undefined;
const store = await openStore({ dataDir, ...(values['database-url'] ? { databaseUrl: values['database-url'], pgSchema: schema! } : {}) });
const now = () => new Date();
await seedPolicySet(store.db, values['database-url'] ? 'replicated' : 'single', dataDir, now());
const authorizer = await openAuthorizer(store, now);
const governance = new Governance(store);
// Limits high enough that the bench measures the checks, not refusals.
governance.configure({ rateLimits: { instance: { limit: 10_000_000 }, agent: { limit: 10_000_000 }, person: { limit: 10_000_000 } } });

const card = {
  id: 'bench-bot',
  owner: 'alice@example.com',
  environment: 'dev',
  roles: ['operator'],
  toolset: ['tool:bench/*'],
} as unknown as AgentCard;

function principal(): Principal {
  const instanceId = crypto.randomBytes(6).toString('base64url');
  const claims = {
    iss: 'bench',
    sub: 'alice@example.com',
    aud: ['bench'],
    iat: 0,
    exp: 0,
    jti: crypto.randomUUID(),
    client_id: 'bench-bot',
    scope: 'tool:bench/*',
    act: { sub: `spiffe://bench/agent/bench-bot/i/${instanceId}`, agent_id: 'bench-bot', instance_id: instanceId },
    cnf: { jkt: 'x' },
    budget: 1e12,
    depth: 0,
    sub_kind: 'person' as const,
  };
  return { claims, scope: parseScope(claims.scope), delegation: ['alice@example.com', claims.act.sub], person: 'alice@example.com', groups: [], agentId: 'bench-bot', instanceId };
}

const request = (p: Principal, cost: number, i: number): CallRequest => ({
  principal: p,
  card,
  action: 'tools/call',
  scopeItem: 'tool:bench/lookup',
  resource: { type: 'tool', server: 'bench', name: 'lookup', highImpact: false, cost },
  label: 'bench/lookup',
  args: { query: `ticket ${i}`, limit: 10 },
});

const base: CallDeps = { authorizer, audit: new MemoryAuditWriter(), auditKey: crypto.randomBytes(32), now };
const modes = {
  off: { deps: base, cost: 0 },
  'on, free tool': { deps: { ...base, governance }, cost: 0 },
  'on, priced tool': { deps: { ...base, governance }, cost: 1 },
} as const;
type Mode = keyof typeof modes;

const samples: Record<Mode, number[]> = { off: [], 'on, free tool': [], 'on, priced tool': [] };
const principals = Object.fromEntries(Object.keys(modes).map((m) => [m, principal()])) as Record<Mode, Principal>;

async function run(mode: Mode, n: number, record: boolean) {
  const { deps, cost } = modes[mode];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const outcome = await decideCall(deps, request(principals[mode], cost, i));
    if (record) samples[mode].push((performance.now() - t) * 1000);
    if (!outcome.allowed) throw new Error(`${mode}: refused ${outcome.code}: ${outcome.message}`);
  }
}

for (const mode of Object.keys(modes) as Mode[]) await run(mode, 200, false);
for (let round = 0; round < rounds; round++) for (const mode of Object.keys(modes) as Mode[]) await run(mode, calls, true);

const at = (sorted: Float64Array, q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const p50 = (mode: Mode) => at(Float64Array.from(samples[mode]).sort(), 0.5);
console.log(`store: ${store.dialect}; ${calls} calls × ${rounds} rounds per mode`);
console.table(
  (Object.keys(modes) as Mode[]).map((mode) => {
    const sorted = Float64Array.from(samples[mode]).sort();
    return {
      governance: mode,
      'p50 µs': Math.round(at(sorted, 0.5)),
      'p99 µs': Math.round(at(sorted, 0.99)),
      'added p50 µs': mode === 'off' ? 0 : Math.round(p50(mode) - p50('off')),
    };
  }),
);

// No target of its own: the decision path's share of the gateway's added latency.
report([
  row(`decideCall p50 with governance, priced tool (vs off), ${store.dialect}, context`, p50('on, priced tool'), 'µs', p50('off'), null),
]);

await store.close();
if (schema) {
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: values['database-url'] });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
}
fs.rmSync(dataDir, { recursive: true, force: true });
