// ArcSight Common Event Format (CEF) 0 export; the field choices are in MAPPING.md
import type { AuditEvent } from '../event.ts';
import { type Severity, severityOf } from './severity.ts';

const CEF_SEVERITY: Record<Severity, number> = { informational: 1, low: 3, medium: 5, high: 8 };

/**
 * `CEF:0|Mandate|Mandate|<version>|<event type>|<name>|<severity>|<extension>` on one line.
 * Header fields escape `\` and `|`; extension values escape `\`, `=`, CR and LF.
 */
export function toCef(event: AuditEvent, options: { productVersion: string }): string {
  const name = [event.type, event.decision, event.action].filter(Boolean).join(' ');
  const header = ['CEF:0', ...['Mandate', 'Mandate', options.productVersion, event.type, name].map(headerField)];
  return `${header.join('|')}|${CEF_SEVERITY[severityOf(event)]}|${extension(event)}`;
}

/** Key/value pairs in a fixed order; absent values are left out. */
function extension(event: AuditEvent): string {
  const { actor, reasons } = event;
  const pairs: Array<[string, string | number | null | undefined]> = [
    ['rt', Date.parse(event.time)],
    ['externalId', event.id],
    ['cat', event.type],
    ['act', event.decision],
    ['outcome', event.status],
    ['reason', event.denial_reason],
    ['msg', reasons?.message],
    ['suser', actor.person],
    ['requestClientApplication', actor.agent],
    ['request', event.resource],
    ['requestMethod', event.data?.method],
    ...labelled('cs1', 'instance', actor.instance),
    ...labelled('cs2', 'delegation', actor.delegation.length > 0 ? actor.delegation.join(' > ') : null),
    ...labelled('cs3', 'policies', reasons?.policies?.join(',')),
    ...labelled('cs4', 'traceId', event.trace_id),
    ...labelled('cs5', 'policyVersion', event.policy_version),
    ...labelled('cs6', 'action', event.action),
    ...labelled('cn1', 'seq', event.seq),
    ...labelled('cn2', 'bytes', event.data?.bytes),
    ...labelled('cfp1', 'cost', event.cost),
    ...labelled('cfp2', 'risk', reasons?.risk),
    ...labelled('flexString1', 'chain', event.chain),
    ...labelled('flexString2', 'hash', event.hash),
  ];
  return pairs
    .filter((pair): pair is [string, string | number] => pair[1] !== null && pair[1] !== undefined && pair[1] !== '')
    .map(([key, value]) => `${key}=${extensionValue(String(value))}`)
    .join(' ');
}

function labelled(key: string, label: string, value: string | number | null | undefined) {
  if (value === null || value === undefined || value === '') return [];
  return [
    [key, value],
    [`${key}Label`, label],
  ] as Array<[string, string | number]>;
}

/** Header: escape backslash and pipe; a header cannot span lines, so CR/LF become spaces. */
export function headerField(value: string): string {
  return value.replace(/[\\|]/g, '\\$&').replace(/\r\n|[\r\n]/g, ' ');
}

/** Extension value: escape backslash and equals; CR and LF become the two-character `\r` and `\n`. */
export function extensionValue(value: string): string {
  return value.replace(/[\\=]/g, '\\$&').replace(/\r/g, '\\r').replace(/\n/g, '\\n');
}
