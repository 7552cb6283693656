import type { Queryable } from '../store/store.ts';
import type { AuditEvent } from './event.ts';

/**
 * The port every component writes the trail through. `append` resolves once the event is
 * durable (committed) and rejects otherwise; callers that gate an action on it fail closed.
 */
export type AuditRecord = Omit<AuditEvent, 'id' | 'time' | 'seq' | 'prev_hash' | 'hash'>;

export interface AuditWriter {
  append(record: AuditRecord): Promise<AuditEvent>;
  /**
   * Writes that must be durable with an event ride in the transaction that appends it (one commit
   * for both, group-committed like any append): `work` runs in that transaction and returns the
   * record to append. Should `work` throw, its writes alone are undone and `instead(error)` is
   * appended in its place. Absent on writers without a store (the caller commits on its own).
   */
  appendWithin?(work: (db: Queryable) => Promise<AuditRecord>, instead: (error: unknown) => AuditRecord): Promise<AuditEvent>;
  /**
   * Close a chain for good with a final `lifecycle.sealed` event (the instance was
   * deprovisioned); null when it was sealed already. Later events about that instance go to the
   * `system` chain.
   */
  sealChain(chain: string, detail?: SealDetail): Promise<AuditEvent | null>;
}

export interface SealDetail {
  agent?: string | null;
  message?: string;
}

/** The chain an event belongs to: the acting instance's own, or the control plane's. */
export const instanceChain = (instanceId: string) => `instance:${instanceId}` as const;
export const SYSTEM_CHAIN = 'system';

/** The `lifecycle.sealed` record that closes `chain`. */
export function sealRecord(chain: string, detail: SealDetail = {}): AuditRecord {
  const instance = chain.startsWith('instance:') ? chain.slice('instance:'.length) : null;
  return {
    chain,
    type: 'lifecycle.sealed',
    actor: { instance, agent: detail.agent ?? null, person: null, delegation: [] },
    action: 'chain:seal',
    resource: chain,
    status: 'success',
    reasons: { message: detail.message ?? 'instance deprovisioned: the chain takes no more events' },
  };
}
