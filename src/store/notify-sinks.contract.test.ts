import { afterEach, describe, expect, it } from 'vitest';
import { dialects, openTestStore, type TestStore } from '../../test/harness.ts';
import { advanceCursor, claimLease, deleteSink, findSink, insertSink, recordFailure, releaseLease, setSinkPaused } from './notify-sinks.ts';

const sink = { name: 'hook', url: 'https://hooks.example.com/', format: 'json', events: '["approval.requested"]', key_sealed: 'sealed', key_secret: null };
const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds));

describe.each(await dialects())('notification sink storage on %s', (dialect) => {
  let t: TestStore | undefined;
  afterEach(async () => {
    await t?.cleanup();
    t = undefined;
  });

  it('starts a sink at the end of the trail and refuses a second one of the same name', async () => {
    t = await openTestStore(dialect);
    expect(await insertSink(t.store.db, sink, at(0))).toBe(true);
    expect(await insertSink(t.store.db, { ...sink, url: 'https://other.example.com/' }, at(1))).toBe(false);
    expect(await findSink(t.store.db, 'hook')).toMatchObject({ url: sink.url, delivered_through: -1, delivered_count: 0, failures: 0, paused_at: null });
    expect(await deleteSink(t.store.db, 'hook')).toBe(true);
    expect(await deleteSink(t.store.db, 'hook')).toBe(false);
  });

  it('lets one owner at a time hold the delivery lease, until it lapses or is released', async () => {
    t = await openTestStore(dialect);
    const db = t.store.db;
    await insertSink(db, sink, at(0));
    expect(await claimLease(db, 'hook', 'a', at(0), 30)).toBe(true);
    expect(await claimLease(db, 'hook', 'b', at(10), 30)).toBe(false);
    expect(await claimLease(db, 'hook', 'a', at(20), 30)).toBe(true);
    expect(await claimLease(db, 'hook', 'b', at(40), 30)).toBe(false);
    expect(await claimLease(db, 'hook', 'b', at(51), 30)).toBe(true);
    await releaseLease(db, 'hook', 'a');
    expect(await claimLease(db, 'hook', 'a', at(52), 30)).toBe(false);
    await releaseLease(db, 'hook', 'b');
    expect(await claimLease(db, 'hook', 'a', at(53), 30)).toBe(true);
  });

  it('leases no paused sink', async () => {
    t = await openTestStore(dialect);
    await insertSink(t.store.db, sink, at(0));
    await setSinkPaused(t.store.db, 'hook', true, at(1));
    expect(await claimLease(t.store.db, 'hook', 'a', at(2), 30)).toBe(false);
    await setSinkPaused(t.store.db, 'hook', false, at(3));
    expect(await claimLease(t.store.db, 'hook', 'a', at(4), 30)).toBe(true);
  });

  it('moves the cursor only forward and only for the lease holder; a success clears the failures', async () => {
    t = await openTestStore(dialect);
    const db = t.store.db;
    await insertSink(db, sink, at(0));
    await claimLease(db, 'hook', 'a', at(0), 30);
    expect(await recordFailure(db, 'hook', 'a', 'the receiver answered HTTP 500', at(1))).toBe(1);
    expect(await recordFailure(db, 'hook', 'b', 'not the holder', at(1))).toBe(1);
    expect(await advanceCursor(db, 'hook', 'b', 5, 1, at(2))).toBe(false);
    expect(await advanceCursor(db, 'hook', 'a', 5, 1, at(2))).toBe(true);
    expect(await advanceCursor(db, 'hook', 'a', 3, 1, at(3))).toBe(false);
    expect(await advanceCursor(db, 'hook', 'a', 9, 0, at(4))).toBe(true);
    expect(await findSink(db, 'hook')).toMatchObject({ delivered_through: 9, delivered_count: 1, failures: 0, last_error: 'the receiver answered HTTP 500', last_delivered_at: at(2).toISOString() });
  });
});
