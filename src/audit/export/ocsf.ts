// OCSF 1.3.0 (schema.ocsf.io) export; the mapping and its reasons are in MAPPING.md
import type { AuditEvent } from '../event.ts';
import { ocsfClassOf } from './ocsf-classes.ts';
import { type Severity, severityOf } from './severity.ts';

export const OCSF_VERSION = '1.3.0';

export type OcsfEvent = Record<string, unknown>;

const SEVERITY_ID: Record<Severity, number> = { informational: 1, low: 2, medium: 3, high: 4 };
const SEVERITY_CAPTION: Record<Severity, string> = {
  informational: 'Informational',
  low: 'Low',
  medium: 'Medium',
  high: 'High',
};
const STATUS: Record<AuditEvent['status'], [number, string]> = {
  success: [1, 'Success'],
  failure: [2, 'Failure'],
  pending: [99, 'Pending'],
};

/** Map one audit event to an OCSF event; absent values are left out rather than set to null. */
export function toOcsf(event: AuditEvent, options: { productVersion: string }): OcsfEvent {
  const mapped = ocsfClassOf(event);
  const severity = severityOf(event);
  const [statusId, status] = STATUS[event.status];
  const ocsf = compact({
    category_uid: mapped.category[0],
    category_name: mapped.category[1],
    class_uid: mapped.class[0],
    class_name: mapped.class[1],
    activity_id: mapped.activity[0],
    activity_name: mapped.activity[1],
    type_uid: mapped.class[0] * 100 + mapped.activity[0],
    type_name: `${mapped.class[1]}: ${mapped.activity[1]}`,
    time: Date.parse(event.time),
    severity_id: SEVERITY_ID[severity],
    severity: SEVERITY_CAPTION[severity],
    status_id: statusId,
    status,
    status_code: event.denial_reason,
    status_detail: event.reasons?.message,
    message: [event.type, event.decision, event.action].filter(Boolean).join(' '),
    metadata: {
      version: OCSF_VERSION,
      product: { name: 'Mandate', vendor_name: 'Mandate', version: options.productVersion },
      uid: event.id,
      event_code: event.type,
      log_name: event.chain,
      sequence: event.seq,
      original_time: event.time,
      correlation_uid: event.trace_id,
      profiles: mapped.profiles,
    },
    ...mapped.attributes,
    unmapped: {
      delegation: event.actor.delegation,
      reasons: event.reasons,
      data: event.data,
      cost: event.cost,
      policy_version: event.policy_version,
      args_digest: event.args_digest,
      prev_hash: event.prev_hash,
      hash: event.hash,
    },
  }) as OcsfEvent;
  // Allow-listed arguments go out as recorded, nulls included.
  if (event.args) ocsf.unmapped = { ...(ocsf.unmapped as object), args: event.args };
  return ocsf;
}

/** Drop null, undefined, empty arrays and objects left empty by that, recursively. */
function compact(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(compact).filter((v) => v !== undefined);
    return items.length > 0 ? items : undefined;
  }
  if (value === null) return undefined;
  if (typeof value !== 'object') return value;
  const entries = Object.entries(value)
    .map(([k, v]) => [k, compact(v)] as const)
    .filter(([, v]) => v !== undefined);
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}
