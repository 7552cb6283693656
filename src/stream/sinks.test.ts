import crypto from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { dialects, openTestStore, type TestStore } from '../../test/harness.ts';
import { masterKeyFrom } from '../identity/master-key.ts';
import { trailSinksRepository } from '../store/repositories/trail-sinks.ts';
import { addTrailSink, rewrapTrailSinkSecrets, trailSinkSecret } from './sinks.ts';

const TOKEN = 'hec-rewrap-0123456789abcdef';

describe.each(await dialects())('trail sink secrets at rest (%s)', (dialect) => {
  let t: TestStore | undefined;
  afterEach(async () => {
    await t?.cleanup();
    t = undefined;
  });

  it('seals the secret under the master key, bound to the sink, and moves it to a new master key', async () => {
    t = await openTestStore(dialect);
    const [from, to] = [masterKeyFrom(crypto.randomBytes(32)), masterKeyFrom(crypto.randomBytes(32))];
    await addTrailSink(t.store.db, from, { name: 'splunk', kind: 'splunk-hec', format: 'jsonl', events: [], environments: [], from: 'now', settings: { url: 'https://splunk.example.com' }, secret: TOKEN }, new Date());
    await addTrailSink(t.store.db, from, { name: 'plain', kind: 'syslog-tcp', format: 'jsonl', events: [], environments: [], from: 'now', settings: { address: '127.0.0.1:514' } }, new Date());
    const repo = trailSinksRepository(t.store.db);
    const row = (await repo.find('splunk'))!;
    expect(row.secret_sealed).not.toContain(TOKEN);
    expect(trailSinkSecret(from, row)).toBe(TOKEN);
    // Sealed for this sink: the same ciphertext under another sink's name does not open.
    expect(() => trailSinkSecret(from, { ...row, name: 'other' })).toThrow();
    expect(await rewrapTrailSinkSecrets(t.store.db, from, to, new Date())).toBe(1);
    expect(await rewrapTrailSinkSecrets(t.store.db, from, to, new Date())).toBe(0);
    const moved = (await repo.find('splunk'))!;
    expect(trailSinkSecret(to, moved)).toBe(TOKEN);
    expect(() => trailSinkSecret(from, moved)).toThrow();
    expect(trailSinkSecret(to, (await repo.find('plain'))!)).toBeUndefined();
  });
});
