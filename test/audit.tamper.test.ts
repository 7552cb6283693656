import { hash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deriveCheckpointKey } from '../src/audit/checkpoint-key.ts';
import { signCheckpoint } from '../src/audit/checkpoint.ts';
import { StoreAuditWriter } from '../src/audit/store-writer.ts';
import { type VerifyReport, verifyAuditLog } from '../src/audit/verify-log.ts';
import { openStore } from '../src/store/open.ts';
import type { Store } from '../src/store/store.ts';
import { decisionRecord } from './audit.kit.ts';
import { dialects, openTestStore, type TestStore } from './harness.ts';

/**
 * Issue 5: someone with write access to the database edits, deletes, swaps, truncates or rolls
 * back audit rows. `verify` finds each, at the right chain and seq, on the real SQLite file and
 * real PostgreSQL rows.
 */
const KEY = deriveCheckpointKey(Buffer.alloc(32, 9), 'mandate.test');
const TABLES = ['audit_events', 'audit_chains', 'audit_head', 'audit_checkpoints'] as const;
const CHAINS = ['instance:a', 'instance:b', 'instance:c'];

const verify = (store: Store, options: { deep?: boolean; saved?: string[] } = {}) =>
  verifyAuditLog(store.db, { trusted: [KEY.verifier], origin: KEY.origin, ...options });

/** 60 events over three chains, a signed checkpoint of size 60, then three more events of c. */
async function buildLog(store: Store): Promise<void> {
  const writer = new StoreAuditWriter(store, { checkpointKey: KEY });
  for (let i = 0; i < 60; i++) await writer.append(decisionRecord(CHAINS[i % 3]!, i));
  await writer.checkpoint();
  for (let i = 60; i < 63; i++) await writer.append(decisionRecord('instance:c', i));
  await writer.flush();
}

async function appendAndCheckpoint(store: Store, n: number, tag: string): Promise<string> {
  const writer = new StoreAuditWriter(store, { checkpointKey: KEY });
  for (let i = 0; i < n; i++) await writer.append(decisionRecord('instance:a', i, { args: { title: `${tag} ${i}` } }));
  const { note } = await writer.checkpoint();
  await writer.close();
  return note;
}

const leafOf = async (store: Store, chain: string, seq: number) =>
  Number((await store.db.selectFrom('audit_events').select('leaf_index').where('chain', '=', chain).where('seq', '=', seq).executeTakeFirstOrThrow()).leaf_index);

const firstBreak = (report: VerifyReport) => {
  expect(report.ok).toBe(false);
  return { chain: report.first?.chain, seq: report.first?.seq, kind: report.first?.kind };
};
const kinds = (report: VerifyReport) => report.breaks.map((b) => b.kind);

describe.each(await dialects())('tampering with the audit trail on %s', (dialect) => {
  let t: TestStore;
  let store: Store;

  const snapshot = async (name: string) => {
    for (const table of TABLES) {
      await sql`drop table if exists ${sql.table(`${name}_${table}`)}`.execute(store.db);
      await sql`create table ${sql.table(`${name}_${table}`)} as select * from ${sql.table(table)}`.execute(store.db);
    }
  };
  const restore = async (name: string) => {
    await store.transaction(async (trx) => {
      for (const table of TABLES) {
        await sql`delete from ${sql.table(table)}`.execute(trx);
        await sql`insert into ${sql.table(table)} select * from ${sql.table(`${name}_${table}`)}`.execute(trx);
      }
    });
  };

  beforeAll(async () => {
    t = await openTestStore(dialect);
    store = t.store;
    await buildLog(store);
    await snapshot('pristine');
  });
  // Every case starts from the untouched log.
  afterEach(async () => {
    await restore('pristine');
  });
  afterAll(async () => {
    await store?.close();
    await t?.cleanup();
  });

  it('verifies the untouched log, its chains and its checkpoint', async () => {
    const report = await verify(store, { deep: true });
    expect(report).toMatchObject({ ok: true, events: 63, chains: 3, size: 63, checkpoints: { stored: 1, verified: 1, uncovered: 3 } });
  });

  it('finds an edited field', async () => {
    await sql`update audit_events set body = replace(body, 'triage-bot', 'other-bot') where chain = 'instance:a' and seq = 7`.execute(store.db);
    const report = await verify(store);
    expect(firstBreak(report)).toEqual({ chain: 'instance:a', seq: 7, kind: 'modified' });
    // The text no longer matches the hash the tree committed to; the tree itself is intact.
    expect(report.breaks).toHaveLength(1);
  });

  it('finds an edited field even when its hash was recomputed', async () => {
    const row = await store.db.selectFrom('audit_events').select(['leaf_index', 'body']).where('chain', '=', 'instance:a').where('seq', '=', 7).executeTakeFirstOrThrow();
    const body = row.body.replace('"decision":"allow"', '"decision":"deny"');
    expect(body).not.toBe(row.body);
    await store.db.updateTable('audit_events').set({ body, hash: hash('sha256', body, 'hex'), decision: 'deny' }).where('leaf_index', '=', row.leaf_index).execute();
    const report = await verify(store);
    // Event 8 still links to the old hash of event 7.
    expect(firstBreak(report)).toEqual({ chain: 'instance:a', seq: 7, kind: 'modified' });
    // Leaf 18 lies under the signed checkpoint of size 60.
    expect(kinds(report)).toContain('root_mismatch');
  });

  it('finds a query column edited to hide an event (deep verification)', async () => {
    await sql`update audit_events set person = 'nobody@example.com' where chain = 'instance:b' and seq = 5`.execute(store.db);
    expect(firstBreak(await verify(store, { deep: true }))).toEqual({ chain: 'instance:b', seq: 5, kind: 'modified' });
  });

  it('finds a deleted event', async () => {
    const leaf = await leafOf(store, 'instance:a', 5);
    await sql`delete from audit_events where chain = 'instance:a' and seq = 5`.execute(store.db);
    const report = await verify(store);
    expect(firstBreak(report)).toEqual({ chain: 'instance:a', seq: 5, kind: 'deleted' });
    expect(report.breaks).toContainEqual(expect.objectContaining({ chain: null, kind: 'leaf_missing', leaf_index: leaf }));
  });

  it('finds two swapped events', async () => {
    const [three, four] = [await leafOf(store, 'instance:b', 3), await leafOf(store, 'instance:b', 4)];
    await store.transaction(async (trx) => {
      await trx.updateTable('audit_events').set({ leaf_index: -1 }).where('leaf_index', '=', three).execute();
      await trx.updateTable('audit_events').set({ leaf_index: three }).where('leaf_index', '=', four).execute();
      await trx.updateTable('audit_events').set({ leaf_index: four }).where('leaf_index', '=', -1).execute();
    });
    const report = await verify(store);
    expect(firstBreak(report)).toEqual({ chain: 'instance:b', seq: 4, kind: 'reordered' });
    expect(kinds(report)).toContain('root_mismatch');
  });

  it('finds a truncated tail', async () => {
    await sql`delete from audit_events where leaf_index >= 60`.execute(store.db);
    const report = await verify(store);
    expect(firstBreak(report)).toEqual({ chain: 'instance:c', seq: 21, kind: 'truncated' });
    expect(report.breaks).toContainEqual(expect.objectContaining({ chain: null, kind: 'truncated', leaf_index: 60 }));
    // Cut below the checkpoint too, and covering the tracks in the head tables: the signed checkpoint still knows.
    await sql`delete from audit_events where leaf_index >= 50`.execute(store.db);
    await sql`delete from audit_chains`.execute(store.db);
    await sql`update audit_head set size = 50`.execute(store.db);
    expect(kinds(await verify(store))).toContain('truncated');
  });

  it('finds a forged or altered checkpoint', async () => {
    await sql`update audit_checkpoints set root = ${'00'.repeat(32)}`.execute(store.db);
    expect(kinds(await verify(store))).toContain('checkpoint_invalid');
    await restore('pristine');
    const forger = deriveCheckpointKey(Buffer.alloc(32, 1), 'mandate.test');
    const note = signCheckpoint({ origin: KEY.origin, size: 61, rootHash: Buffer.alloc(32, 2) }, forger.signer);
    await store.db.insertInto('audit_checkpoints').values({ size: 61, root: '02'.repeat(32), note, created_at: new Date().toISOString() }).execute();
    const report = await verify(store);
    expect(report.breaks).toContainEqual(expect.objectContaining({ kind: 'checkpoint_invalid', message: expect.stringContaining('none of the trusted keys') }));
  });

  it('finds a rollback to an old copy, and the fork written after it, with a checkpoint saved later', async () => {
    let saved: string;
    if (dialect === 'sqlite') {
      // The real file: copy it, let the log grow, save the checkpoint, put the old file back.
      const file = path.join(t.dataDir, 'mandate.db');
      await store.close();
      fs.copyFileSync(file, `${file}.old`);
      store = await openStore(t.openOptions);
      saved = await appendAndCheckpoint(store, 10, 'later');
      await store.close();
      for (const suffix of ['-wal', '-shm']) fs.rmSync(`${file}${suffix}`, { force: true });
      fs.copyFileSync(`${file}.old`, file);
      store = await openStore(t.openOptions);
    } else {
      await snapshot('old');
      saved = await appendAndCheckpoint(store, 10, 'later');
      await restore('old');
    }
    // Alone, the old copy is consistent with itself.
    expect((await verify(store)).ok).toBe(true);
    const rolledBack = await verify(store, { saved: [saved] });
    expect(firstBreak(rolledBack)).toEqual({ chain: null, seq: null, kind: 'rolled_back' });
    // Writing on from the old copy forks the log: at the saved size its root differs.
    await appendAndCheckpoint(store, 12, 'forked');
    const forked = await verify(store, { saved: [saved] });
    expect(firstBreak(forked)).toEqual({ chain: null, seq: null, kind: 'fork' });
    expect(forked.breaks.filter((b) => b.chain !== null)).toEqual([]);
  });
});
