import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyAuditLog } from '../src/audit/verify-log.ts';
import { openStore } from '../src/store/open.ts';
import { dialects, openTestStore } from './harness.ts';

/**
 * Issue 5: an append is acknowledged only once durable. A writer process killed with SIGKILL in
 * the middle of a stream of appends leaves a log that verifies and holds every event it acknowledged.
 */
const CHILD = path.resolve(import.meta.dirname, 'audit-writer-child.ts');
const ACKS_BEFORE_KILL = 400;

describe.each(await dialects())('a writer killed mid-stream on %s', (dialect) => {
  it('loses no acknowledged event and leaves every chain intact', async () => {
    const t = await openTestStore(dialect);
    await t.store.close();
    const config = { ...t.openOptions, chains: ['instance:k1', 'instance:k2', 'system'], concurrency: 16 };
    const child = spawn(process.execPath, [CHILD, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: string[][] = [];
    let pending = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${acked.length} acks: ${stderr}`)), 20_000);
      child.stdout.on('data', (chunk: Buffer) => {
        const lines = (pending + chunk.toString()).split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) acked.push(line.split(' ').slice(1));
        if (acked.length >= ACKS_BEFORE_KILL) {
          clearTimeout(timer);
          child.kill('SIGKILL');
          resolve();
        }
      });
    });
    expect(await exited).toBe('SIGKILL');

    const store = await openStore(t.openOptions);
    try {
      const report = await verifyAuditLog(store.db);
      expect(report).toMatchObject({ ok: true, breaks: [] });
      expect(report.events).toBeGreaterThanOrEqual(acked.length);
      const rows = await store.db.selectFrom('audit_events').select(['chain', 'seq', 'hash']).execute();
      const stored = new Set(rows.map((r) => `${r.chain} ${Number(r.seq)} ${r.hash}`));
      const missing = acked.filter((a) => !stored.has(a.join(' ')));
      expect(missing).toEqual([]);
    } finally {
      await store.close();
      await t.cleanup();
    }
  });
});
