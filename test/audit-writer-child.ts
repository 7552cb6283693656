// A process that appends to the audit trail and prints every acknowledged event on stdout:
// `ack <chain> <seq> <hash>`. Used by the crash test (killed with SIGKILL mid-stream) and the
// multi-process sequencer test. Argument: JSON { dataDir, databaseUrl?, pgSchema?, chains, count?, concurrency? }.
import { StoreAuditWriter } from '../src/audit/store-writer.ts';
import { openStore } from '../src/store/open.ts';

const config = JSON.parse(process.argv[2] ?? '{}') as {
  dataDir: string;
  databaseUrl?: string;
  pgSchema?: string;
  chains: string[];
  count?: number;
  concurrency?: number;
};
const store = await openStore({
  dataDir: config.dataDir,
  ...(config.databaseUrl ? { databaseUrl: config.databaseUrl, pgSchema: config.pgSchema! } : {}),
});
const writer = new StoreAuditWriter(store);
const total = config.count ?? Number.POSITIVE_INFINITY;
let issued = 0;

async function worker(): Promise<void> {
  while (issued < total) {
    const i = issued++;
    const chain = config.chains[i % config.chains.length]!;
    const event = await writer.append({
      chain,
      type: 'tool.decision',
      actor: { instance: chain.replace(/^instance:/, ''), agent: 'crash-bot', person: 'alice@example.com', delegation: [] },
      action: 'tools/call',
      resource: `github/issue-${i}`,
      decision: 'allow',
      status: 'success',
      reasons: { scope: 'tool:github/* covered' },
    });
    // Printed only once the append resolved, that is once its transaction committed.
    process.stdout.write(`ack ${event.chain} ${event.seq} ${event.hash}\n`);
  }
}

await Promise.all(Array.from({ length: config.concurrency ?? 8 }, worker));
await writer.close();
await store.close();
