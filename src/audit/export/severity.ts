// Severity of an audit event, shared by the SIEM exports so OCSF and CEF agree
import type { AuditEvent } from '../event.ts';

export type Severity = 'informational' | 'low' | 'medium' | 'high';

/**
 * | event                                   | severity      |
 * |-----------------------------------------|---------------|
 * | `anomaly.*`, `alert.*`                  | high          |
 * | a `deny` decision, `lifecycle.suspended` | medium        |
 * | any other `failure`                     | low           |
 * | everything else                         | informational |
 */
export function severityOf(event: Pick<AuditEvent, 'type' | 'decision' | 'status'>): Severity {
  if (event.type.startsWith('anomaly.') || event.type.startsWith('alert.')) return 'high';
  if (event.decision === 'deny' || event.type === 'lifecycle.suspended') return 'medium';
  if (event.status === 'failure') return 'low';
  return 'informational';
}
