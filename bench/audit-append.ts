// Durable audit appends/s (group commit) on SQLite and PostgreSQL, and verification events/s,
// next to raw SHA-256 of the same canonical events in the same run.
// Run: node bench/audit-append.ts   (BENCH_EVENTS, BENCH_WINDOW_MS, BENCH_PG_URL; BENCH_PG_URL=off skips PostgreSQL;
// BENCH_DROP_INDEXES=name,… measures without those indexes of the audit table, in every store of the run)
import { hash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import pg from 'pg';
import { deriveCheckpointKey } from '../src/audit/checkpoint-key.ts';
import { StoreAuditWriter } from '../src/audit/store-writer.ts';
import { LeafPass, type Row, verifyAuditLog } from '../src/audit/verify-log.ts';
import type { AuditRecord } from '../src/audit/writer.ts';
import { type OpenStoreOptions, openStore as openMigrated } from '../src/store/open.ts';
import type { Store } from '../src/store/store.ts';
import { atLeast, report, row, type SummaryRow } from './summary.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const WINDOW = Number(process.env.BENCH_WINDOW_MS ?? 2);
const IN_FLIGHT = 2000;
const PG_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const KEY = deriveCheckpointKey(Buffer.alloc(32, 5), 'bench.local');
const summary: SummaryRow[] = [];
const DROP = (process.env.BENCH_DROP_INDEXES ?? '').split(',').filter((name) => /^audit_events_[a-z_]+$/.test(name));

/** A migrated store, without the indexes BENCH_DROP_INDEXES names (what-if, not the shipped schema). */
async function openStore(options: OpenStoreOptions): Promise<Store> {
  const store = await openMigrated(options);
  for (const name of DROP) await store.db.schema.dropIndex(name).ifExists().execute();
  return store;
}

/** A gateway decision as the enforcement point writes it (about 700 canonical bytes). */
function record(chain: string, i: number): AuditRecord {
  const denied = i % 10 === 4;
  return {
    chain,
    type: 'tool.decision',
    actor: {
      instance: chain.slice('instance:'.length),
      agent: 'triage-bot',
      person: 'alice@example.com',
      delegation: ['alice@example.com', `spiffe://mandate.local/agent/triage-bot/i/${chain.slice(9)}`],
    },
    action: 'tools/call',
    resource: 'github/create_issue',
    decision: denied ? 'deny' : 'allow',
    status: denied ? 'failure' : 'success',
    denial_reason: denied ? 'ERR_POLICY_DENIED' : null,
    reasons: { scope: 'tool:github/* covered', policies: [denied ? 'forbid-prod-writes' : 'permit-issue-triage'], budget: { limit: 100, spent: i % 100, remaining: 100 - (i % 100) } },
    policy_version: 'sha256:3f1a9c0e',
    trace_id: (i.toString(16) + '4bf92f3577b34da6a3ce929d0e0e4736').slice(0, 32).padStart(32, '0'),
    args_digest: `hmac-sha256:${(i % 16).toString(16).repeat(64)}`,
    args: { repo: 'acme/api', title: `Flaky test #${i}` },
    cost: 0,
    data: { resources: [`call-${i}`] },
  };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(10);

/** `EVENTS` appends kept `IN_FLIGHT` at a time; the figure counts only acknowledged (committed) ones. */
async function appendRun(label: string, store: Store, chains: number): Promise<number> {
  let commits = 0;
  const counted: Store = { ...store, transaction: (work) => (commits++, store.transaction(work)) };
  const writer = new StoreAuditWriter(counted, { groupCommitMs: WINDOW });
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < EVENTS) {
        const i = next++;
        await writer.append(record(`instance:b${i % chains}`, i));
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await writer.close();
  console.log(`${label.padEnd(44)} ${fmt(EVENTS / seconds)} appends/s  (${commits} commits, ${Math.round(EVENTS / commits)} events each)`);
  return EVENTS / seconds;
}

/** One caller awaiting each append: the latency a gateway call pays for its decision event. */
async function latencyRun(label: string, store: Store): Promise<void> {
  const writer = new StoreAuditWriter(store, { groupCommitMs: WINDOW });
  const samples: number[] = [];
  for (let i = 0; i < 200; i++) {
    const started = performance.now();
    await writer.append(record('instance:lat', i));
    samples.push(performance.now() - started);
  }
  await writer.close();
  samples.sort((a, b) => a - b);
  const at = (q: number) => samples[Math.floor(q * (samples.length - 1))]!.toFixed(1);
  console.log(`${label.padEnd(44)} p50 ${at(0.5)} ms, p99 ${at(0.99)} ms per awaited append`);
}

async function verifyRun(label: string, store: Store): Promise<{ whole: number; sha: number }> {
  // The rows as verification reads them.
  const rows: Row[] = [];
  let readSeconds = Infinity;
  for (let round = 0; round < 2; round++) {
    rows.length = 0;
    const started = performance.now();
    let after = -1;
    for (;;) {
      const page = await store.db.selectFrom('audit_events').select(['leaf_index', 'chain', 'seq', 'hash', 'body']).where('leaf_index', '>', after).orderBy('leaf_index').limit(10_000).execute();
      for (const row of page) rows.push(row);
      if (page.length < 10_000) break;
      after = Number(page.at(-1)!.leaf_index);
    }
    readSeconds = Math.min(readSeconds, (performance.now() - started) / 1000);
  }
  const n = rows.length;
  const best = (run: () => unknown) => {
    let fastest = Infinity;
    for (let round = 0; round < 5; round++) {
      const started = performance.now();
      run();
      fastest = Math.min(fastest, (performance.now() - started) / 1000);
    }
    return n / fastest;
  };
  let sink = 0;
  const sha = best(() => {
    for (const row of rows) sink += hash('sha256', row.body, 'hex').length;
  });
  const pass = best(() => {
    const leaves = new LeafPass({ deep: false, tree: true, targets: [], logBreak: () => {} });
    for (const row of rows) leaves.add(row);
    if (leaves.chainBreaks.size > 0) throw new Error('log should verify');
  });
  let whole = Infinity;
  for (let round = 0; round < 5; round++) {
    const started = performance.now();
    const report = await verifyAuditLog(store.db, { trusted: [KEY.verifier], origin: KEY.origin });
    if (!report.ok) throw new Error(`log should verify: ${JSON.stringify(report.first)}`);
    whole = Math.min(whole, (performance.now() - started) / 1000);
  }
  if (sink === 0) console.log('');
  console.log(`${label.padEnd(44)} ${fmt(pass)} events/s  verification pass (hash, link, seq, Merkle) over ${n} stored rows`);
  console.log(`${''.padEnd(44)} ${fmt(sha)} events/s  raw SHA-256 of the same stored texts (pass = ${Math.round((100 * pass) / sha)}%)`);
  console.log(`${''.padEnd(44)} ${fmt(n / readSeconds)} events/s  reading those rows from the database`);
  console.log(`${''.padEnd(44)} ${fmt(n / whole)} events/s  verifyAuditLog end to end (read + pass + checks)`);
  return { whole: n / whole, sha };
}

/**
 * The same rows inserted straight through better-sqlite3 with one reused prepared statement into
 * the same table and indexes, 1000 per transaction, with the store's durability (WAL,
 * synchronous=NORMAL): what this machine and disk allow at all.
 */
async function sqliteFloor(source: Store): Promise<number> {
  const rows = await source.db.selectFrom('audit_events').selectAll().orderBy('leaf_index').limit(EVENTS).execute();
  const floorDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mandate-bench-floor-'));
  try {
    await (await openStore({ dataDir: floorDir })).close();
    const db = new Sqlite(path.join(floorDir, 'mandate.db'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    const columns = Object.keys(rows[0]!);
    const insert = db.prepare(`insert into audit_events (${columns.join(', ')}) values (${columns.map(() => '?').join(', ')})`);
    const started = performance.now();
    for (let start = 0; start < rows.length; start += 1000) {
      db.transaction(() => {
        for (const row of rows.slice(start, start + 1000)) insert.run(Object.values(row));
      })();
    }
    const perSecond = rows.length / ((performance.now() - started) / 1000);
    db.close();
    console.log(`${'SQLite floor: raw inserts, reused statement'.padEnd(44)} ${fmt(perSecond)} rows/s  (same table and indexes, no hashing)`);
    return perSecond;
  } finally {
    fs.rmSync(floorDir, { recursive: true, force: true });
  }
}

/**
 * The same rows inserted into a fresh copy of the table (same indexes) in PostgreSQL, 1000 per
 * multi-row INSERT, each statement its own durable commit: the raw insert rate through `pg`.
 */
async function postgresFloor(source: Store, schema: string): Promise<number> {
  const rows = await source.db.selectFrom('audit_events').selectAll().orderBy('leaf_index').limit(EVENTS).execute();
  const floor = `${schema}_floor`;
  await (await openStore({ dataDir: dir, databaseUrl: PG_URL, pgSchema: floor, poolSize: 1 })).close();
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(`set search_path to ${floor}`);
    const columns = Object.keys(rows[0]!);
    const batch = 1000;
    const values = (n: number) =>
      Array.from({ length: n }, (_, r) => `(${columns.map((_, c) => `$${r * columns.length + c + 1}`).join(', ')})`).join(', ');
    const statement = `insert into audit_events (${columns.join(', ')}) values ${values(batch)}`;
    const started = performance.now();
    for (let start = 0; start < rows.length; start += batch) {
      const slice = rows.slice(start, start + batch);
      const text = slice.length === batch ? statement : `insert into audit_events (${columns.join(', ')}) values ${values(slice.length)}`;
      await client.query(text, slice.flatMap((r) => Object.values(r)));
    }
    const perSecond = rows.length / ((performance.now() - started) / 1000);
    console.log(`${'PostgreSQL floor: raw multi-row inserts'.padEnd(44)} ${fmt(perSecond)} rows/s  (same table and indexes, no hashing)`);
    return perSecond;
  } finally {
    await client.query(`drop schema if exists ${floor} cascade`).catch(() => {});
    await client.end();
  }
}

console.log(`node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model}), load ${os.loadavg()[0]?.toFixed(1)}`);
console.log(`${EVENTS.toLocaleString('en-US')} appends per run, ${IN_FLIGHT} in flight, group commit window ${WINDOW} ms${DROP.length ? `, without ${DROP.join(', ')}` : ''}`);

// Raw SHA-256 of canonical events, the yardstick every figure is read against.
{
  const { canonicalize } = await import('../src/audit/jcs.ts');
  const texts = Array.from({ length: EVENTS }, (_, i) => canonicalize({ ...record('instance:b0', i), id: crypto.randomUUID(), time: new Date().toISOString(), seq: i + 1, prev_hash: '0'.repeat(64) }));
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const started = performance.now();
    for (const text of texts) hash('sha256', text, 'hex');
    best = Math.min(best, (performance.now() - started) / 1000);
  }
  const bytes = Math.round(texts.reduce((s, t) => s + Buffer.byteLength(t), 0) / texts.length);
  console.log(`${'raw SHA-256 of one canonical event'.padEnd(44)} ${fmt(EVENTS / best)} events/s  (${bytes} bytes each)\n`);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mandate-bench-audit-'));
try {
  const sqlite = await openStore({ dataDir: dir });
  try {
    const one = await appendRun('SQLite, one chain', sqlite, 1);
    const many = await appendRun('SQLite, 100 chains', sqlite, 100);
    await latencyRun('SQLite, one awaited append at a time', sqlite);
    const floor = await sqliteFloor(sqlite);
    const verified = await verifyRun('SQLite, verify the whole log', sqlite);
    summary.push(
      row('audit appends, SQLite, one chain (vs raw inserts)', one, '/s', floor, atLeast(100_000, '/s')),
      row('audit appends, SQLite, 100 chains (vs raw inserts)', many, '/s', floor, atLeast(100_000, '/s')),
      row('audit verify end to end, SQLite (vs raw SHA-256)', verified.whole, '/s', verified.sha, atLeast(500_000, '/s')),
    );
  } finally {
    await sqlite.close();
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}

if (PG_URL !== 'off') {
  const schema = `bench_audit_${process.pid}`;
  let store: Store | undefined;
  try {
    store = await openStore({ dataDir: dir, databaseUrl: PG_URL, pgSchema: schema, poolSize: 4 });
    console.log('');
    const one = await appendRun('PostgreSQL, one chain', store, 1);
    const many = await appendRun('PostgreSQL, 100 chains', store, 100);
    await latencyRun('PostgreSQL, one awaited append at a time', store);
    const floor = await postgresFloor(store, schema);
    const verified = await verifyRun('PostgreSQL, verify the whole log', store);
    summary.push(
      row('audit appends, PostgreSQL, one chain (vs raw inserts)', one, '/s', floor, atLeast(30_000, '/s')),
      row('audit appends, PostgreSQL, 100 chains (vs raw inserts)', many, '/s', floor, atLeast(30_000, '/s')),
      row('audit verify end to end, PostgreSQL (vs raw SHA-256)', verified.whole, '/s', verified.sha, atLeast(500_000, '/s')),
    );
  } catch (error) {
    console.log(`PostgreSQL skipped: ${(error as Error).message}`);
  } finally {
    await store?.close();
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect().then(
      () => admin.query(`drop schema if exists ${schema} cascade`).finally(() => admin.end()),
      () => {},
    );
  }
}

report(summary);
