import { z } from 'zod';

/**
 * What a scanner reports, before the findings queue keeps it. `key` identifies the thing found
 * (a file and server, a login, a source) so that scanning again counts a sighting instead of
 * adding a finding. A credential travels as the SHA-256 of its value and a hint; the server
 * keys the hash again (HMAC under a key derived from the master key) and keeps only that.
 */
export const SCANNERS = ['mcp-config', 'postgres-login', 'refused-client'] as const;
export const SEVERITIES = ['low', 'medium', 'high'] as const;

const detailValue = z.union([z.string().max(1000), z.number(), z.boolean(), z.null(), z.array(z.string().max(200)).max(50)]);

export const findingDraftSchema = z.strictObject({
  scanner: z.enum(SCANNERS),
  kind: z.string().regex(/^[a-z][a-z-]{1,39}$/),
  severity: z.enum(SEVERITIES),
  source: z.string().min(1).max(1000),
  title: z.string().min(1).max(500),
  key: z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 (hex)'),
  detail: z.record(z.string().regex(/^[a-z_]{1,40}$/), detailValue).refine((d) => Object.keys(d).length <= 30, 'at most 30 fields'),
  credential: z
    .strictObject({
      sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 (hex)'),
      /** A recognised prefix, an ellipsis and at most the last four characters. */
      hint: z.string().regex(/^[A-Za-z0-9_-]{0,12}…[A-Za-z0-9_+/=.~-]{0,4}$/, 'must be <prefix>…<last 4>'),
      type: z.string().regex(/^[a-z][a-z0-9-]{1,39}$/),
    })
    .optional(),
});

export type FindingDraft = z.output<typeof findingDraftSchema>;
