import crypto from 'node:crypto';
import { type AuditEvent, GENESIS_HASH, hashEvent } from './event.ts';
import type { AuditRecord, AuditWriter } from './writer.ts';

/** Hash-chained events kept in memory: for tests of components that write the trail. */
export class MemoryAuditWriter implements AuditWriter {
  readonly events: AuditEvent[] = [];
  readonly #heads = new Map<string, { seq: number; hash: string }>();
  readonly #now: () => Date;

  constructor(now: () => Date = () => new Date()) {
    this.#now = now;
  }

  async append(record: AuditRecord): Promise<AuditEvent> {
    const head = this.#heads.get(record.chain) ?? { seq: 0, hash: GENESIS_HASH };
    const unhashed = { ...record, id: crypto.randomUUID(), time: this.#now().toISOString(), seq: head.seq + 1, prev_hash: head.hash };
    const event = { ...unhashed, hash: hashEvent(unhashed) } as AuditEvent;
    this.#heads.set(record.chain, { seq: event.seq, hash: event.hash });
    this.events.push(event);
    return event;
  }

  ofType(type: string): AuditEvent[] {
    return this.events.filter((e) => e.type === type);
  }
}
