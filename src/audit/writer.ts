import type { AuditEvent } from './event.ts';

/**
 * The port every component writes the trail through. `append` resolves once the event is
 * durable (committed) and rejects otherwise; callers that gate an action on it fail closed.
 */
export type AuditRecord = Omit<AuditEvent, 'id' | 'time' | 'seq' | 'prev_hash' | 'hash'>;

export interface AuditWriter {
  append(record: AuditRecord): Promise<AuditEvent>;
}

/** The chain an event belongs to: the acting instance's own, or the control plane's. */
export const instanceChain = (instanceId: string) => `instance:${instanceId}` as const;
export const SYSTEM_CHAIN = 'system';
