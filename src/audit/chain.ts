// Mandate audit hash chains: append, and verify one chain ordered by seq
import { refusal, MandateError } from '../errors.ts';
import { type AuditEvent, GENESIS_HASH, hashEvent, SEALED_TYPE, type UnhashedAuditEvent } from './event.ts';

/** The last event of a chain as someone saw it: enough to extend it or to detect a rollback. */
export interface ChainHead {
  chain: string;
  seq: number;
  hash: string;
  /** True once a `lifecycle.sealed` event closed the chain. */
  sealed?: boolean;
}

/**
 * How a chain is broken. `modified`: content no longer matches its hash (or a rehashed event no
 * longer matches its successor's link). `deleted`: a seq is missing. `inserted`: an extra event
 * (duplicate seq, foreign chain, or one skipped by its successor's link). `reordered`: events out
 * of seq order. `after_seal`: anything after `lifecycle.sealed`. `truncated` / `rolled_back`:
 * the chain is shorter than, or differs at, a head saved earlier.
 */
export type BreakKind = 'modified' | 'deleted' | 'inserted' | 'reordered' | 'after_seal' | 'truncated' | 'rolled_back';

export interface ChainBreak {
  chain: string;
  seq: number;
  kind: BreakKind;
  message: string;
}

/** `count` is how many events verified (before the break, when there is one). */
export type ChainVerification =
  | { ok: true; count: number; head: ChainHead | null }
  | { ok: false; count: number; break: ChainBreak };

export type EventDraft = Omit<UnhashedAuditEvent, 'seq' | 'prev_hash'>;

/**
 * Link a new event after `head` (or start the chain when null) and compute its hash. The head may
 * be the previous event itself; a sealed chain takes no more events.
 */
export function appendEvent(head: (ChainHead & { type?: string }) | null, draft: EventDraft): AuditEvent {
  if (head && head.chain !== draft.chain) {
    throw new MandateError('ERR_AUDIT_CHAIN_MISMATCH', `cannot append to ${head.chain} an event of ${draft.chain}`);
  }
  if (head?.sealed || head?.type === SEALED_TYPE) {
    throw refusal('ERR_AUDIT_CHAIN_SEALED', `audit chain ${head.chain} is sealed`);
  }
  const unhashed: UnhashedAuditEvent = { ...draft, seq: (head?.seq ?? 0) + 1, prev_hash: head?.hash ?? GENESIS_HASH };
  return { ...unhashed, hash: hashEvent(unhashed) };
}

/**
 * Verify one chain, ordered by seq, and report the first broken place. With `from`, the events
 * continue a chain already verified up to that head.
 */
export function verifyChain(events: readonly AuditEvent[], options: { from?: ChainHead } = {}): ChainVerification {
  const { from } = options;
  const chain = from?.chain ?? events[0]?.chain;
  if (chain === undefined) return { ok: true, count: 0, head: null };
  let seq = from?.seq ?? 0;
  let prevHash = from?.hash ?? GENESIS_HASH;
  let sealed = from?.sealed ?? false;
  let i = 0;
  for (; i < events.length; i++) {
    const event = events[i] as AuditEvent;
    // Cheap checks first; the hash is the only costly one and runs once per event.
    if (event.chain !== chain || sealed || event.seq !== seq + 1) break;
    if (hashEvent(event) !== event.hash || event.prev_hash !== prevHash) break;
    seq = event.seq;
    prevHash = event.hash;
    sealed = event.type === SEALED_TYPE;
  }
  if (i === events.length) return { ok: true, count: i, head: { chain, seq, hash: prevHash, sealed } };
  return { ok: false, count: i, break: { chain, ...diagnose(events, i, { chain, seq, prevHash, sealed }) } };
}

/** Name what is wrong with the event at `i`, the first that did not extend the verified prefix. */
function diagnose(
  events: readonly AuditEvent[],
  i: number,
  verified: { chain: string; seq: number; prevHash: string; sealed: boolean },
): Omit<ChainBreak, 'chain'> {
  const event = events[i] as AuditEvent;
  const found = (kind: BreakKind, seq: number, message: string) => ({ kind, seq, message });
  if (event.chain !== verified.chain) {
    return found('inserted', event.seq, `event of ${event.chain} inside ${verified.chain}`);
  }
  if (verified.sealed) return found('after_seal', event.seq, `event ${event.seq} follows the seal`);
  if (event.seq !== verified.seq + 1) return seqBreak(events, i, verified.seq + 1, found);
  if (hashEvent(event) !== event.hash) {
    return found('modified', event.seq, `event ${event.seq} does not match its hash`);
  }
  return linkBreak(events, i, found);
}

/**
 * Verify the chain, then compare it with a head saved earlier (a checkpoint, a previous run): a
 * chain now shorter was truncated; one that differs at the saved seq was rolled back and rewritten.
 */
export function verifyAgainstHead(
  events: readonly AuditEvent[],
  saved: ChainHead,
  options: { from?: ChainHead } = {},
): ChainVerification {
  const chain = options.from?.chain ?? events[0]?.chain ?? saved.chain;
  if (chain !== saved.chain) {
    throw new MandateError('ERR_AUDIT_CHAIN_MISMATCH', `saved head is for ${saved.chain}, not ${chain}`);
  }
  const result = verifyChain(events, options);
  if (!result.ok) return result;
  const last = result.head?.seq ?? 0;
  const found = (kind: BreakKind, seq: number, message: string): ChainVerification => ({
    ok: false,
    count: result.count,
    break: { chain, seq, kind, message },
  });
  if (last < saved.seq) return found('truncated', last + 1, `chain ends at ${last}, head was seen at ${saved.seq}`);
  const firstSeq = (options.from?.seq ?? 0) + 1;
  const hashThen = saved.seq === firstSeq - 1 ? options.from?.hash : events[saved.seq - firstSeq]?.hash;
  if (saved.seq > 0 && hashThen !== undefined && hashThen !== saved.hash) {
    return found('rolled_back', saved.seq, `event ${saved.seq} differs from the saved head`);
  }
  return result;
}

type Found = (kind: BreakKind, seq: number, message: string) => Omit<ChainBreak, 'chain'>;

/** The event at `i` does not carry the next seq: tell a gap from a shuffle from a duplicate. */
function seqBreak(events: readonly AuditEvent[], i: number, expected: number, found: Found) {
  const event = events[i] as AuditEvent;
  if (event.seq > expected) {
    return events.some((e, j) => j > i && e.seq === expected)
      ? found('reordered', event.seq, `event ${event.seq} comes before ${expected}`)
      : found('deleted', expected, `event ${expected} is missing`);
  }
  return events.some((e, j) => j < i && e.seq === event.seq)
    ? found('inserted', event.seq, `seq ${event.seq} appears twice`)
    : found('reordered', event.seq, `event ${event.seq} comes after ${expected - 1}`);
}

/** The event at `i` is intact but does not link to its predecessor: find where its link points. */
function linkBreak(events: readonly AuditEvent[], i: number, found: Found) {
  const event = events[i] as AuditEvent;
  const target = events.findIndex((e) => e.hash === event.prev_hash);
  if (target > i) return found('reordered', event.seq, `event ${event.seq} links to a later event`);
  if (target >= 0 && target < i - 1) {
    const extra = events[target + 1] as AuditEvent;
    return found('inserted', extra.seq, `event ${event.seq} links past event ${extra.seq}`);
  }
  const before = events[i - 1];
  return before
    ? found('modified', before.seq, `event ${event.seq} does not link to event ${before.seq}: it was rehashed`)
    : found('modified', event.seq, `event ${event.seq} does not link to the head before it`);
}
