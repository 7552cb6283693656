// JSON Lines (jsonlines.org) export: one RFC 8785 canonical event per line
import { MandateError } from '../../errors.ts';
import { type AuditEvent, parseAuditEvent } from '../event.ts';
import { canonicalize } from '../jcs.ts';

/**
 * One event as a JSON line, newline included. The line is the event's JCS form, so a consumer can
 * drop `hash`, hash the rest and check it without a canonicalizer of its own agreeing with ours.
 */
export function toJsonLine(event: AuditEvent): string {
  // JCS escapes CR and LF inside strings, so the only newline is the terminator.
  return `${canonicalize(event)}\n`;
}

/** Read back one exported line (for `mandate audit verify <file>`), validating the event. */
export function fromJsonLine(line: string): AuditEvent {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new MandateError('ERR_AUDIT_LINE_INVALID', 'line is not JSON');
  }
  return parseAuditEvent(value);
}
