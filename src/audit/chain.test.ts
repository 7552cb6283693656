import { describe, expect, it } from 'vitest';
import { appendEvent, verifyAgainstHead, verifyChain } from './chain.ts';
import { type AuditEvent, hashEvent } from './event.ts';
import { buildChain, draftAt } from './testdata/events.ts';

const CHAIN = 'instance:i-7f3a';
const rehash = (e: AuditEvent): AuditEvent => ({ ...e, hash: hashEvent(e) });
const breakOf = (result: ReturnType<typeof verifyChain>) => (result.ok ? null : result.break);

describe('audit chain verification', () => {
  it('verifies an intact chain and reports its head', () => {
    const events = buildChain(10);
    expect(verifyChain(events)).toEqual({
      ok: true,
      count: 10,
      head: { chain: CHAIN, seq: 10, hash: events[9]!.hash, sealed: false },
    });
  });

  it('verifies an empty chain as having no head', () => {
    expect(verifyChain([])).toEqual({ ok: true, count: 0, head: null });
  });

  it('still verifies after a round trip through JSON with shuffled members and respelled numbers', () => {
    const events = buildChain(6).map((e) => {
      const text = JSON.stringify(Object.fromEntries(Object.entries(e).reverse()));
      return JSON.parse(text.replace(/"cost":0.25/, '"cost":2.5e-1').replace(/"seq":(\d+)/, '"seq":$1.0'));
    });
    expect(verifyChain(events).ok).toBe(true);
  });

  it('reports an edited event as modified at its seq', () => {
    const events = buildChain(10);
    events[3] = { ...events[3]!, decision: 'allow' };
    expect(breakOf(verifyChain(events))).toMatchObject({ chain: CHAIN, seq: 4, kind: 'modified' });
  });

  it('reports an edited and rehashed event as modified, through its successor link', () => {
    const events = buildChain(10);
    events[3] = rehash({ ...events[3]!, actor: { ...events[3]!.actor, person: 'mallory@example.com' } });
    expect(breakOf(verifyChain(events))).toMatchObject({ seq: 4, kind: 'modified' });
  });

  it('reports a forged first event as modified at seq 1', () => {
    const events = buildChain(3);
    events[0] = rehash({ ...events[0]!, prev_hash: 'a'.repeat(64) });
    expect(breakOf(verifyChain(events))).toMatchObject({ seq: 1, kind: 'modified' });
  });

  it('reports a removed event as deleted at the missing seq', () => {
    const events = buildChain(10);
    events.splice(4, 1);
    expect(breakOf(verifyChain(events))).toMatchObject({ seq: 5, kind: 'deleted' });
  });

  it('reports a second event with the same seq as inserted', () => {
    const events = buildChain(10);
    const forged = rehash({ ...events[4]!, action: 'github.delete_repo' });
    events.splice(5, 0, forged);
    expect(breakOf(verifyChain(events))).toMatchObject({ seq: 5, kind: 'inserted' });
  });

  it('reports an event slipped in with the rest renumbered as inserted, where the link skips it', () => {
    const events = buildChain(6);
    const forged = appendEvent(events[2]!, { ...draftAt(CHAIN, 4), action: 'github.delete_repo' });
    const renumbered = events.slice(3).map((e) => rehash({ ...e, seq: e.seq + 1 }));
    const tampered = [...events.slice(0, 3), forged, ...renumbered];
    expect(breakOf(verifyChain(tampered))).toMatchObject({ seq: 4, kind: 'inserted' });
  });

  it('reports an event of another chain as inserted', () => {
    const events = buildChain(5);
    events[2] = buildChain(3, 'instance:i-other')[2]!;
    expect(breakOf(verifyChain(events))).toMatchObject({ seq: 3, kind: 'inserted' });
  });

  it('reports swapped events as reordered', () => {
    const events = buildChain(10);
    [events[4], events[5]] = [events[5]!, events[4]!];
    expect(breakOf(verifyChain(events))).toMatchObject({ seq: 6, kind: 'reordered' });
  });

  it('reports an event moved back in the file as reordered', () => {
    const events = buildChain(10);
    const [moved] = events.splice(2, 1);
    events.splice(6, 0, moved!);
    expect(breakOf(verifyChain(events))).toMatchObject({ seq: 4, kind: 'reordered' });
  });

  it('refuses any event after the chain was sealed', () => {
    const events = buildChain(4);
    const seal = appendEvent(events[3]!, { ...draftAt(CHAIN, 5), type: 'lifecycle.sealed', decision: null });
    const late = appendEvent({ chain: CHAIN, seq: 5, hash: seal.hash }, draftAt(CHAIN, 6));
    expect(verifyChain([...events, seal])).toMatchObject({ ok: true, head: { seq: 5, sealed: true } });
    expect(breakOf(verifyChain([...events, seal, late]))).toMatchObject({ seq: 6, kind: 'after_seal' });
  });

  it('reports how many events verified before the break', () => {
    const events = buildChain(10);
    events[7] = { ...events[7]!, cost: 99 };
    expect(verifyChain(events)).toMatchObject({ ok: false, count: 7 });
  });

  it('continues from a head verified earlier', () => {
    const events = buildChain(10);
    const head = verifyChain(events.slice(0, 6));
    if (!head.ok || !head.head) throw new Error('prefix should verify');
    expect(verifyChain(events.slice(6), { from: head.head })).toMatchObject({ ok: true, head: { seq: 10 } });
    expect(breakOf(verifyChain(events.slice(7), { from: head.head }))).toMatchObject({ seq: 7, kind: 'deleted' });
  });
});

describe('appending to a chain', () => {
  it('numbers events from 1 and links them from the genesis hash', () => {
    const [first, second] = buildChain(2);
    expect(first).toMatchObject({ seq: 1, prev_hash: '0'.repeat(64) });
    expect(second).toMatchObject({ seq: 2, prev_hash: first!.hash });
  });

  it('refuses to append after the sealing event itself', () => {
    const [last] = buildChain(1);
    const seal = appendEvent(last!, { ...draftAt(CHAIN, 2), type: 'lifecycle.sealed', decision: null });
    expect(() => appendEvent(seal, draftAt(CHAIN, 3))).toThrow(expect.objectContaining({ code: 'ERR_AUDIT_CHAIN_SEALED' }));
  });

  it('refuses to append to a sealed chain', () => {
    expect(() => appendEvent({ chain: CHAIN, seq: 9, hash: 'a'.repeat(64), sealed: true }, draftAt(CHAIN, 10))).toThrow(
      expect.objectContaining({ code: 'ERR_AUDIT_CHAIN_SEALED', status: 409 }),
    );
  });

  it('refuses to append an event of another chain', () => {
    expect(() => appendEvent({ chain: 'system', seq: 1, hash: 'a'.repeat(64) }, draftAt(CHAIN, 2))).toThrow(
      expect.objectContaining({ code: 'ERR_AUDIT_CHAIN_MISMATCH' }),
    );
  });
});

describe('verification against a saved head', () => {
  const events = buildChain(12);
  const savedAt10 = { chain: CHAIN, seq: 10, hash: events[9]!.hash };

  it('accepts a chain that grew since the head was saved', () => {
    expect(verifyAgainstHead(events, savedAt10)).toMatchObject({ ok: true, head: { seq: 12 } });
  });

  it('detects a chain truncated below the saved head', () => {
    expect(verifyAgainstHead(events.slice(0, 7), savedAt10)).toMatchObject({
      ok: false,
      break: { chain: CHAIN, seq: 8, kind: 'truncated' },
    });
  });

  it('detects a tail rolled back and rewritten, even though the rewritten chain is intact', () => {
    const rewritten = [...events.slice(0, 5), ...buildChain(7, CHAIN, events[4]!).map((e) => rehash({ ...e, cost: 7 }))];
    const relinked: AuditEvent[] = [];
    for (const e of rewritten) {
      const prev = relinked.at(-1);
      relinked.push(prev ? rehash({ ...e, prev_hash: prev.hash }) : e);
    }
    expect(verifyChain(relinked).ok).toBe(true);
    expect(verifyAgainstHead(relinked, savedAt10)).toMatchObject({ ok: false, break: { seq: 10, kind: 'rolled_back' } });
  });

  it('checks a slice that starts right after the saved head', () => {
    const head = { chain: CHAIN, seq: 10, hash: events[9]!.hash };
    expect(verifyAgainstHead(events.slice(10), head, { from: head }).ok).toBe(true);
    const other = { ...head, hash: 'c'.repeat(64) };
    expect(verifyAgainstHead(events.slice(10), other, { from: head })).toMatchObject({
      break: { kind: 'rolled_back' },
    });
  });

  it('reports chain-level breaks before comparing heads', () => {
    const tampered = [...events];
    tampered[2] = { ...tampered[2]!, action: 'github.delete_repo' };
    expect(verifyAgainstHead(tampered, savedAt10)).toMatchObject({ break: { seq: 3, kind: 'modified' } });
  });

  it('refuses a head saved for another chain', () => {
    expect(() => verifyAgainstHead(events, { ...savedAt10, chain: 'system' })).toThrow(
      expect.objectContaining({ code: 'ERR_AUDIT_CHAIN_MISMATCH' }),
    );
  });
});
