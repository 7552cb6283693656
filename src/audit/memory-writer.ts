import crypto from 'node:crypto';
import { type AuditEvent, GENESIS_HASH, hashEvent, SEALED_TYPE } from './event.ts';
import { type AuditRecord, type AuditWriter, type SealDetail, sealRecord, SYSTEM_CHAIN } from './writer.ts';

/** Hash-chained events kept in memory: for tests of components that write the trail. */
export class MemoryAuditWriter implements AuditWriter {
  readonly events: AuditEvent[] = [];
  readonly #heads = new Map<string, { seq: number; hash: string; sealed: boolean }>();
  readonly #now: () => Date;

  constructor(now: () => Date = () => new Date()) {
    this.#now = now;
  }

  async append(record: AuditRecord): Promise<AuditEvent> {
    // As the store writer does: a sealed chain's later events go to the system chain.
    const chain = this.#heads.get(record.chain)?.sealed ? SYSTEM_CHAIN : record.chain;
    const head = this.#heads.get(chain) ?? { seq: 0, hash: GENESIS_HASH, sealed: false };
    const unhashed = { ...record, chain, id: crypto.randomUUID(), time: this.#now().toISOString(), seq: head.seq + 1, prev_hash: head.hash };
    const event = { ...unhashed, hash: hashEvent(unhashed) } as AuditEvent;
    this.#heads.set(chain, { seq: event.seq, hash: event.hash, sealed: event.type === SEALED_TYPE });
    this.events.push(event);
    return event;
  }

  async sealChain(chain: string, detail?: SealDetail): Promise<AuditEvent | null> {
    if (this.#heads.get(chain)?.sealed) return null;
    return this.append(sealRecord(chain, detail));
  }

  ofType(type: string): AuditEvent[] {
    return this.events.filter((e) => e.type === type);
  }
}
