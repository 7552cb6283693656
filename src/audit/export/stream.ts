// One export line per event, in the format a SIEM takes (mappings in MAPPING.md)
import type { AuditEvent } from '../event.ts';
import { toCef } from './cef.ts';
import { toJsonLine } from './jsonl.ts';
import { toOcsf } from './ocsf.ts';

export const EXPORT_FORMATS = ['jsonl', 'ocsf', 'cef'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The event as one newline-terminated line: canonical JSON, OCSF JSON, or CEF. */
export function exportLine(format: ExportFormat, event: AuditEvent, productVersion: string): string {
  switch (format) {
    case 'jsonl':
      return toJsonLine(event);
    case 'ocsf':
      return `${JSON.stringify(toOcsf(event, { productVersion }))}\n`;
    case 'cef':
      return `${toCef(event, { productVersion })}\n`;
  }
}

export function exportContentType(format: ExportFormat): string {
  return format === 'cef' ? 'text/plain; charset=utf-8' : 'application/x-ndjson; charset=utf-8';
}
