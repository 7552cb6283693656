// Lifecycle governance at deployment size, on SQLite: the hygiene report and an access review
// campaign's start (both read the trail for least-privilege suggestions), and the MCP config scan
// of a checked-out tree. Run: node bench/lifecycle-reviews.ts   (BENCH_AGENTS, BENCH_EVENTS, BENCH_DIRS)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deriveCheckpointKey } from '../src/audit/checkpoint-key.ts';
import { MemoryAuditWriter } from '../src/audit/memory-writer.ts';
import { StoreAuditWriter } from '../src/audit/store-writer.ts';
import { ChangeFeed, localTransport } from '../src/cluster/feed.ts';
import { scanMcpConfigs } from '../src/lifecycle/discovery/mcp-configs.ts';
import { hygieneReport } from '../src/lifecycle/hygiene.ts';
import { startCampaign } from '../src/lifecycle/reviews.ts';
import { parseAgentCard, registerAgent } from '../src/registry/agents.ts';
import { openStore } from '../src/store/open.ts';
import { report, row, type SummaryRow } from './summary.ts';

const AGENTS = Number(process.env.BENCH_AGENTS ?? 1000);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const DIRS = Number(process.env.BENCH_DIRS ?? 2000);
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mandate-bench-lifecycle-'));
const rows: SummaryRow[] = [];
const time = async <T>(work: () => Promise<T> | T): Promise<[T, number]> => {
  const start = performance.now();
  const value = await work();
  return [value, performance.now() - start];
};

try {
  const store = await openStore({ dataDir });
  const now = new Date();
  // Agents registered sixty days ago, active yesterday: old enough for every check to apply.
  const registered = new Date(now.getTime() - 60 * 86_400_000);
  const yesterday = new Date(now.getTime() - 86_400_000);
  await store.transaction(async (trx) => {
    for (let i = 0; i < AGENTS; i++) {
      const tools = Array.from({ length: 8 }, (_, t) => `tool:server${i % 20}/tool${t}`);
      await registerAgent(trx, parseAgentCard({ id: `agent-${i}`, name: `Agent ${i}`, owner: `owner${i % 50}@example.com`, environment: 'dev', toolset: tools }), registered);
    }
  });
  // The trail: allowed calls spread over the agents, each using half of its toolset.
  const writer = new StoreAuditWriter(store, { now: () => yesterday, checkpointKey: deriveCheckpointKey(Buffer.alloc(32, 7), 'bench.local'), onError: () => {} });
  const appends: Array<Promise<unknown>> = [];
  for (let i = 0; i < EVENTS; i++) {
    const agent = i % AGENTS;
    appends.push(writer.append({ chain: `instance:i-${agent}`, type: 'tool.decision', actor: { instance: `i-${agent}`, agent: `agent-${agent}`, person: 'alice@example.com', delegation: [] }, action: 'tools/call', resource: `server${agent % 20}/tool${i % 4}`, decision: 'allow', status: 'success' }));
    if (appends.length >= 2000) await Promise.all(appends.splice(0));
  }
  await Promise.all(appends);
  await writer.close();

  const [hygiene, hygieneMs] = await time(() => hygieneReport(store.db, now, { staleDays: 30, maxKeyAgeDays: 90 }));
  if (hygiene.over_privileged.length !== AGENTS) throw new Error(`expected every agent over-privileged, got ${hygiene.over_privileged.length}`);
  rows.push(row(`hygiene report, ${AGENTS} agents, ${EVENTS} trail events`, Math.round(hygieneMs), 'ms', null, null));

  const changes = new ChangeFeed(store, localTransport, () => {});
  const deps = { store, audit: new MemoryAuditWriter(), changes, now: () => now, trustDomain: 'bench.local', checkpointKey: deriveCheckpointKey(Buffer.alloc(32, 7), 'bench.local') };
  const [campaign, campaignMs] = await time(() => startCampaign(deps, { due: 14 * 86_400, action: 'suspend', unused_days: 30 }, 'bench'));
  if (campaign.counts.items !== AGENTS) throw new Error('campaign items');
  rows.push(row(`access review start, ${AGENTS} items with suggestions`, Math.round(campaignMs), 'ms', null, null));
  await changes.close();
  await store.close();

  // A checked-out tree: DIRS directories, one in ten with a client config.
  const tree = path.join(dataDir, 'tree');
  for (let i = 0; i < DIRS; i++) {
    const dir = path.join(tree, `pkg${i % 50}`, `mod${i}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'index.ts'), '');
    if (i % 10 === 0) fs.writeFileSync(path.join(dir, '.mcp.json'), JSON.stringify({ mcpServers: { [`s${i}`]: { command: 'npx', args: ['server'], env: { TOKEN: `ghp_${String(i).padStart(36, 'x')}` } } } }));
  }
  const [scan, scanMs] = await time(() => scanMcpConfigs([tree], { home: false, limits: { maxDepth: 6, maxFiles: 10_000 } }));
  rows.push(row(`MCP config scan, ${DIRS} directories, ${scan.files.length} configs`, Math.round(scanMs), 'ms', null, null));
} finally {
  fs.rmSync(dataDir, { recursive: true, force: true });
}
report(rows);
