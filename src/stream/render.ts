import type { AuditEvent } from '../audit/event.ts';
import { exportLine } from '../audit/export/stream.ts';
import { type Severity, severityOf } from '../audit/export/severity.ts';
import type { TrailRow } from '../store/repositories/trail-sinks.ts';
import type { TrailFormat } from './spec.ts';

/** One event ready for a transport: its line in the sink's format, and what framings need. */
export interface OutEvent {
  position: number;
  id: string;
  chain: string;
  seq: number;
  type: string;
  time: string;
  severity: Severity;
  /** The event in the sink's format, without a line end. */
  text: string;
  /** True when `text` is JSON (jsonl, ocsf); CEF is a string. */
  json: boolean;
}

/**
 * The stored body is the RFC 8785 form of the event without `hash`. JCS orders members by code
 * unit and `hash` sorts just before `id` (no other member lies between), so the exported line —
 * the JCS form with `hash` — is the body with `"hash":…` spliced in before the top-level `"id"`.
 * That member is the last `,"id":` of the text: members after it (reasons, resource, …) hold no
 * `id` key, and inside strings a quote is always escaped.
 */
export function jsonLineOf(row: Pick<TrailRow, 'body' | 'hash' | 'id'>): string {
  const at = row.body.lastIndexOf(`,"id":${JSON.stringify(row.id)}`);
  return `${row.body.slice(0, at)},"hash":"${row.hash}"${row.body.slice(at)}`;
}

export function renderEvents(rows: readonly TrailRow[], format: TrailFormat, productVersion: string): OutEvent[] {
  // JSON lines come from the stored text as it is; OCSF and CEF map the parsed event.
  const textOf = (row: TrailRow) => (format === 'jsonl' ? jsonLineOf(row) : exportLine(format, { ...(JSON.parse(row.body) as AuditEvent), hash: row.hash }, productVersion).slice(0, -1));
  return rows.map((row) => ({ position: row.position, id: row.id, chain: row.chain, seq: row.seq, type: row.type, time: row.time, severity: severityOf(row), text: textOf(row), json: format !== 'cef' }));
}
