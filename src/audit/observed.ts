import type { AuditEvent } from './event.ts';
import type { AuditWriter } from './writer.ts';

/**
 * The same writer, telling `observe` about every event once it is durable (alert rules watch the
 * trail this way). `observe` runs synchronously after the commit and must be cheap; what it
 * throws is dropped, so an observer never fails an append.
 */
export function observedWriter(writer: AuditWriter, observe: (event: AuditEvent) => void): AuditWriter {
  const seen = (event: AuditEvent) => {
    try {
      observe(event);
    } catch {
      // An observer's failure is its own: the event is in the trail.
    }
    return event;
  };
  return {
    append: (record) => writer.append(record).then(seen),
    ...(writer.appendWithin ? { appendWithin: (work, instead) => writer.appendWithin!(work, instead).then(seen) } : {}),
    sealChain: (chain, detail) => writer.sealChain(chain, detail),
  };
}
