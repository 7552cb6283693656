import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertConsistent, verifyCheckpoint } from '../src/audit/checkpoint.ts';
import { deriveCheckpointKey } from '../src/audit/checkpoint-key.ts';
import { eventLeafHash } from '../src/audit/event.ts';
import { latestCheckpoint, listCheckpoints, proveConsistency, proveInclusion, queryEvents } from '../src/audit/log-store.ts';
import { verifyInclusion } from '../src/audit/merkle-proof.ts';
import { openAuditDatabase } from '../src/cli/audit-offline.ts';
import { StoreAuditWriter } from '../src/audit/store-writer.ts';
import { verifyAuditLog } from '../src/audit/verify-log.ts';
import { openStore } from '../src/store/open.ts';
import type { Store } from '../src/store/store.ts';
import { decisionRecord } from './audit.kit.ts';
import { dialects, openTestStore, type TestStore } from './harness.ts';

/** Issue 5: the audit trail on the real store — durable group commit, one sequencer, sealing, checkpoints. */
const KEY = deriveCheckpointKey(Buffer.alloc(32, 7), 'mandate.test');
const CHILD = path.resolve(import.meta.dirname, 'audit-writer-child.ts');

const verifyAll = (store: Store) => verifyAuditLog(store.db, { trusted: [KEY.verifier], origin: KEY.origin });

/** A second, independent connection to the same database. */
async function otherConnection(t: TestStore) {
  const url = t.openOptions.databaseUrl;
  return openAuditDatabase(
    url ? { databaseUrl: `${url}?options=${encodeURIComponent(`-c search_path=${t.openOptions.pgSchema}`)}` } : { dataDir: t.dataDir },
  );
}

function runChild(config: object): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => (code === 0 ? resolve(out.trim().split('\n')) : reject(new Error(`child exited ${code}: ${err}`))));
  });
}

describe.each(await dialects())('the audit writer on %s', (dialect) => {
  let t: TestStore;
  beforeAll(async () => {
    t = await openTestStore(dialect);
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  it('commits concurrent appends in a few transactions; each resolves only once its batch is durable', async () => {
    let transactions = 0;
    const counted: Store = { ...t.store, transaction: (work) => (transactions++, t.store.transaction(work)) };
    const writer = new StoreAuditWriter(counted, { groupCommitMs: 5 });
    const events = await Promise.all(Array.from({ length: 300 }, (_, i) => writer.append(decisionRecord(`instance:g${i % 3}`, i))));
    expect(transactions).toBeLessThanOrEqual(3);
    for (const chain of ['instance:g0', 'instance:g1', 'instance:g2']) {
      expect(events.filter((e) => e.chain === chain).map((e) => e.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    }
    // Resolved means committed: another connection already sees every event.
    const other = await otherConnection(t);
    try {
      const rows = await other.db.selectFrom('audit_events').select(['leaf_index', 'hash']).orderBy('leaf_index').execute();
      expect(rows.map((r) => Number(r.leaf_index))).toEqual(Array.from({ length: rows.length }, (_, i) => i));
      expect(new Set(rows.map((r) => r.hash))).toEqual(new Set(events.map((e) => e.hash)));
    } finally {
      await other.close();
    }
    await writer.close();
  });

  it('rejects every append of a batch whose commit fails and writes none of them', async () => {
    const failing: Store = {
      ...t.store,
      transaction: (work) =>
        t.store.transaction(async (trx) => {
          await work(trx);
          throw new Error('disk full');
        }),
    };
    const broken = new StoreAuditWriter(failing);
    const results = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => broken.append(decisionRecord('instance:f1', i))));
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    const rows = await t.store.db.selectFrom('audit_events').select('seq').where('chain', '=', 'instance:f1').execute();
    expect(rows).toEqual([]);
    // Nothing half-written: the next append starts the chain at seq 1.
    const writer = new StoreAuditWriter(t.store);
    expect((await writer.append(decisionRecord('instance:f1', 0))).seq).toBe(1);
    await writer.close();
    expect((await verifyAll(t.store)).ok).toBe(true);
  });

  it('refuses a malformed record on its own; the rest of its batch commits', async () => {
    const writer = new StoreAuditWriter(t.store);
    const [good, bad, nonJson, after] = await Promise.allSettled([
      writer.append(decisionRecord('instance:m1', 0)),
      writer.append(decisionRecord('instance:m1', 1, { type: 'Tool Decision' })),
      writer.append(decisionRecord('instance:m1', 2, { args: { when: new Date() as never } })),
      writer.append(decisionRecord('instance:m1', 3)),
    ]);
    expect(good.status).toBe('fulfilled');
    expect(bad).toMatchObject({ status: 'rejected', reason: { code: 'ERR_AUDIT_EVENT_INVALID' } });
    expect(nonJson).toMatchObject({ status: 'rejected', reason: { code: 'ERR_JCS_UNSUPPORTED_TYPE' } });
    expect(after).toMatchObject({ status: 'fulfilled', value: { seq: 2 } });
    await writer.close();
  });

  it('verifies events whose arguments reuse the names chain, seq and prev_hash', async () => {
    const writer = new StoreAuditWriter(t.store);
    const decoy = { chain: 'instance:decoy', seq: 99, prev_hash: 'f'.repeat(64), nested: { chain: 'system', seq: 1 } };
    for (let i = 0; i < 3; i++) await writer.append(decisionRecord('instance:n1', i, { args: decoy }));
    await writer.close();
    const report = await verifyAuditLog(t.store.db, { chain: 'instance:n1' });
    expect(report).toMatchObject({ ok: true, events: 3 });
  });

  it('seals an instance chain; what comes later about the instance goes to the system chain', async () => {
    const writer = new StoreAuditWriter(t.store);
    await writer.append(decisionRecord('instance:s1', 0));
    const seal = await writer.sealChain('instance:s1', { agent: 'triage-bot' });
    expect(seal).toMatchObject({ chain: 'instance:s1', seq: 2, type: 'lifecycle.sealed', actor: { instance: 's1' } });
    const late = await writer.append(decisionRecord('instance:s1', 1));
    expect(late).toMatchObject({ chain: 'system', actor: { instance: 's1' } });
    expect(await writer.sealChain('instance:s1')).toBeNull();
    await expect(writer.sealChain('system')).rejects.toMatchObject({ code: 'ERR_AUDIT_CHAIN_INVALID' });
    const found = await queryEvents(t.store.db, { instance: 's1' });
    expect(found.events.map((e) => [e.event.chain, e.event.type])).toEqual([
      ['instance:s1', 'tool.decision'],
      ['instance:s1', 'lifecycle.sealed'],
      ['system', 'tool.decision'],
    ]);
    await writer.close();
    expect((await verifyAll(t.store)).ok).toBe(true);
  });

  it('signs checkpoints on its timer and on demand; inclusion and consistency proofs verify against them', async () => {
    const writer = new StoreAuditWriter(t.store, { checkpointKey: KEY, checkpointEveryMs: 50 });
    const first = await writer.checkpoint();
    const events = await Promise.all(Array.from({ length: 40 }, (_, i) => writer.append(decisionRecord('instance:p1', i))));
    await expect.poll(async () => (await latestCheckpoint(t.store.db))?.size, { timeout: 5000 }).toBeGreaterThan(first.size);
    const latest = await writer.checkpoint();
    const older = verifyCheckpoint(first.note, KEY.verifier, { origin: KEY.origin });
    const newer = verifyCheckpoint(latest.note, KEY.verifier, { origin: KEY.origin });
    expect(newer.size).toBeGreaterThanOrEqual(older.size + 40);
    // An outside witness: the newer tree extends the older one …
    const consistency = await proveConsistency(t.store.db, older.size, newer.size);
    assertConsistent(older, newer, consistency.proof.map((p) => Buffer.from(p, 'base64')));
    // … and holds this event.
    const target = events[17]!;
    const row = await t.store.db.selectFrom('audit_events').select('leaf_index').where('hash', '=', target.hash).executeTakeFirstOrThrow();
    const inclusion = await proveInclusion(t.store.db, Number(row.leaf_index), newer.size);
    const proof = inclusion.proof.map((p) => Buffer.from(p, 'base64'));
    expect(verifyInclusion(Number(row.leaf_index), newer.size, eventLeafHash(target), proof, newer.rootHash)).toBe(true);
    // Nothing new, nothing re-signed.
    expect((await writer.checkpoint()).size).toBe(latest.size);
    expect((await listCheckpoints(t.store.db)).length).toBeGreaterThanOrEqual(2);
    await writer.close();
  });

  it('answers queries by agent, person, tool, decision, type and time, page by page', async () => {
    let clock = 0;
    const writer = new StoreAuditWriter(t.store, { now: () => new Date(Date.parse('2030-01-01T00:00:00Z') + clock * 1000) });
    for (let i = 0; i < 12; i++) {
      clock = i + 1;
      await writer.append(decisionRecord('instance:q1', i, { resource: i % 2 ? 'github/create_issue' : 'jira/create', actor: { instance: 'q1', agent: 'query-bot', person: i < 6 ? 'carol@example.com' : 'dave@example.com', delegation: [] } }));
    }
    const db = t.store.db;
    expect((await queryEvents(db, { agent: 'query-bot' })).events).toHaveLength(12);
    expect((await queryEvents(db, { agent: 'query-bot', person: 'dave@example.com' })).events).toHaveLength(6);
    expect((await queryEvents(db, { agent: 'query-bot', resource: 'jira/*' })).events).toHaveLength(6);
    expect((await queryEvents(db, { agent: 'query-bot', decision: 'deny' })).events.map((e) => e.event.seq)).toEqual([5, 10]);
    expect((await queryEvents(db, { agent: 'query-bot', type: 'tool.*' })).events).toHaveLength(12);
    const window = await queryEvents(db, { agent: 'query-bot', since: '2030-01-01T00:00:03.000Z', until: '2030-01-01T00:00:06.000Z' });
    expect(window.events.map((e) => e.event.seq)).toEqual([3, 4, 5]);
    const seen: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await queryEvents(db, { agent: 'query-bot' }, { limit: 5, cursor });
      seen.push(...page.events.map((e) => e.event.seq));
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    const newest = await queryEvents(db, { agent: 'query-bot' }, { limit: 2, order: 'desc' });
    expect(newest.events.map((e) => e.event.seq)).toEqual([12, 11]);
    await writer.close();
  });

  it('keeps leaf indexes gap-free and one chain linked when two processes append at once', async () => {
    const chains = ['instance:shared', 'instance:own'];
    let acks: string[];
    if (dialect === 'sqlite') {
      const config = { dataDir: t.dataDir, chains, count: 150, concurrency: 8 };
      acks = (await Promise.all([runChild(config), runChild(config)])).flat();
    } else {
      // Two stores are two connection pools: two writers as two replicas would be.
      const second = await openStore({ ...t.openOptions, poolSize: 4 });
      const a = new StoreAuditWriter(t.store);
      const b = new StoreAuditWriter(second);
      const both = await Promise.all(
        [a, b].flatMap((w) => Array.from({ length: 150 }, (_, i) => w.append(decisionRecord(chains[i % 2]!, i)))),
      );
      acks = both.map((e) => `ack ${e.chain} ${e.seq} ${e.hash}`);
      await a.close();
      await b.close();
      await second.close();
    }
    expect(acks).toHaveLength(300);
    const shared = acks.filter((l) => l.startsWith('ack instance:shared ')).map((l) => Number(l.split(' ')[2]));
    expect(shared.sort((x, y) => x - y)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    const report = await verifyAll(t.store);
    expect(report).toMatchObject({ ok: true, breaks: [] });
    expect(report.events).toBe(report.size);
  });
});
