// Lifecycle governance over a populated store: an inventory page, an agent's usage report, and a
// clean-up run (dry and real) over every instance. Context figures, no targets.
// Run: node bench/lifecycle.ts   (BENCH_AGENTS, BENCH_INSTANCES per agent, BENCH_EVENTS per instance;
// BENCH_DATABASE_URL for PostgreSQL)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StoreAuditWriter } from '../src/audit/store-writer.ts';
import { agentUsage, listMandates } from '../src/lifecycle/inventory.ts';
import { reap } from '../src/lifecycle/reaper.ts';
import { openStore } from '../src/store/open.ts';
import { benchStore } from './bench-store.ts';
import { report, row } from './summary.ts';

const AGENTS = Number(process.env.BENCH_AGENTS ?? 50);
const INSTANCES = Number(process.env.BENCH_INSTANCES ?? 20);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 5);
const ROUNDS = 30;

const place = benchStore();
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mandate-bench-lifecycle-'));
const store = await openStore({ dataDir, ...(place.databaseUrl ? { databaseUrl: place.databaseUrl, pgSchema: place.pgSchema! } : {}) });
const t0 = new Date('2031-01-01T00:00:00Z');
let clock = t0.getTime();
const now = () => new Date(clock);
const audit = new StoreAuditWriter(store, { now });

const at = t0.toISOString();
for (let a = 0; a < AGENTS; a++) {
  await store.db
    .insertInto('agents')
    .values({ id: `agent-${a}`, name: `agent-${a}`, owner: `owner-${a % 10}@example.com`, purpose: '', environment: 'dev', model: null, version: null, code_hashes: '[]', config_hashes: '[]', toolset: JSON.stringify(['tool:everything/echo', 'tool:everything/get-sum', 'tool:github/*']), roles: '[]', may_delegate_to: '[]', on_behalf_of: 'optional', max_token_lifetime: 600, default_budget: 100, status: 'active', spec_hash: 'h', created_at: at, updated_at: at })
    .execute();
  const instances = Array.from({ length: INSTANCES }, (_, i) => ({ id: `a${a}-i${i}`, agent_id: `agent-${a}`, spiffe_id: `spiffe://bench/agent/agent-${a}/i/a${a}-i${i}`, jkt: `jkt-a${a}-i${i}`, public_jwk: '{}', claims: '{}', status: 'active', created_at: at, revoked_at: null }));
  await store.db.insertInto('instances').values(instances).execute();
  await store.db
    .insertInto('mandates')
    .values(instances.map((i) => ({ jti: `m-${i.id}`, parent_jti: null, instance_id: i.id, agent_id: i.agent_id, sub: 'alice@example.com', scope: 'tool:everything/echo', aud: '["x"]', budget: 100, depth: 0, task_id: null, issued_at: at, expires_at: '2031-01-02T00:00:00.000Z', revoked_at: null, kid: null })))
    .execute();
}
for (let a = 0; a < AGENTS; a++) {
  for (let i = 0; i < INSTANCES; i++) {
    for (let e = 0; e < EVENTS; e++) {
      await audit.append({ chain: `instance:a${a}-i${i}`, type: 'tool.result', actor: { instance: `a${a}-i${i}`, agent: `agent-${a}`, person: 'alice@example.com', delegation: [] }, action: 'tools/call', resource: 'everything/echo', status: 'success' });
    }
  }
}
const instances = AGENTS * INSTANCES;
console.log(`${AGENTS} agents, ${instances} instances and mandates, ${instances * EVENTS} trail events${place.tag}`);

const median = async (label: string, run: () => Promise<unknown>) => {
  await run();
  const times: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  const ms = times.sort((x, y) => x - y)[Math.floor(times.length / 2)]!;
  console.log(`${label.padEnd(48)} ${ms.toFixed(2).padStart(9)} ms (median of ${ROUNDS})`);
  return ms;
};

clock += 2 * 3_600_000;
const page = await median('GET /v1/mandates page of 100 (live)', () => listMandates(store.db, { state: 'live', limit: 100 }, now()));
const usage = await median('GET /v1/agents/{id}/usage (30 days)', () => agentUsage(store.db, 'agent-7', 30 * 86_400, now()));
const deps = { store, audit, now, changes: { transaction: <T>(work: (trx: never, emit: () => Promise<void>) => Promise<T>) => store.transaction((trx) => work(trx as never, async () => {})) } };
const policy = { instanceIdleSeconds: 3600, agentUnusedDays: 30, suspendUnused: false };
const dry = await median(`reap --dry-run over ${instances} idle instances`, () => reap(deps, policy, { dryRun: true }));
const start = performance.now();
const done = await reap(deps, policy);
const real = performance.now() - start;
console.log(`${`reap revoking ${done.instances_revoked.length} instances`.padEnd(48)} ${real.toFixed(0).padStart(9)} ms (one run)`);

report([
  row(`inventory page of 100 mandates${place.tag}`, page, 'ms', null, null),
  row(`agent usage over 30 days${place.tag}`, usage, 'ms', null, null),
  row(`reap dry run, ${instances} instances${place.tag}`, dry, 'ms', null, null),
  row(`reap revoking ${instances} instances${place.tag}`, real, 'ms', null, null),
]);
await audit.close();
await store.close();
await place.drop();
fs.rmSync(dataDir, { recursive: true, force: true });
