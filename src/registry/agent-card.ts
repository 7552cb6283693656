import crypto from 'node:crypto';
import { z } from 'zod';
import { durationSeconds } from './duration.ts';

/**
 * The agent card (DESIGN §1.1): what an agent is, who owns it, and the most it may ever do.
 * Instances, mandates and policies are all checked against it. Wire names are snake_case so
 * the same card reads the same in YAML (GitOps), JSON and the audit trail.
 */
export const slugSchema = z
  .string()
  .regex(
    /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/,
    'must be a slug: lowercase letters, digits and dashes (1-64)',
  );

const codeHash = z
  .string()
  .transform((v) => v.trim().toLowerCase())
  .pipe(z.string().regex(/^(sha256:)?[0-9a-f]{64}$/, 'must be a SHA-256 hash: sha256:<64 hex digits>'))
  .transform((v) => (v.startsWith('sha256:') ? v : `sha256:${v}`));

/** Scope items are checked in full by the tokens component; the card only needs their family. */
const scopeItem = z
  .string()
  .regex(
    /^(tool:[^\s/]+\/\S+|http:[^\s:]+:[A-Z*]+:\/\S*|a2a:[^\s/]+\/\S+)$/,
    'must be tool:<server>/<tool>, http:<connection>:<METHOD>:<path> or a2a:<peer>/<method>',
  );

export const environments = ['dev', 'staging', 'prod'] as const;
/** `draft`: registered from a discovery finding, not yet reviewed; it gets no instance until resumed. */
export const agentStatuses = ['active', 'suspended', 'retired', 'draft'] as const;
export const onBehalfOfModes = ['required', 'optional', 'none'] as const;

export const agentCardSpecSchema = z.strictObject({
  id: slugSchema,
  name: z.string().trim().min(1).max(200),
  owner: z.string().trim().min(1).max(320).nullable().default(null),
  purpose: z.string().max(2000).default(''),
  environment: z.enum(environments).default('dev'),
  model: z.string().trim().min(1).max(200).nullable().default(null),
  version: z.string().trim().min(1).max(100).nullable().default(null),
  code_hashes: z.array(codeHash).max(100).default([]),
  config_hashes: z.array(codeHash).max(100).default([]),
  toolset: z.array(scopeItem).max(500).default([]),
  roles: z.array(slugSchema).max(50).default([]),
  may_delegate_to: z.array(slugSchema).max(100).default([]),
  on_behalf_of: z.enum(onBehalfOfModes).default('required'),
  max_token_lifetime: durationSeconds
    .pipe(z.number().int().min(60, 'must be at least 60 seconds').max(86_400, 'must be at most 1 day'))
    .default(3600),
  default_budget: z.number().nonnegative().finite().default(1000),
});

export type AgentCardInput = z.input<typeof agentCardSpecSchema>;
export type AgentCardSpec = z.output<typeof agentCardSpecSchema>;
export type AgentStatus = (typeof agentStatuses)[number];

export interface AgentCard extends AgentCardSpec {
  status: AgentStatus;
  created_at: string;
  updated_at: string;
  /** Warnings a reviewer should see (for example, no owner). */
  flags: string[];
}

/** Hash of the normalized spec: `apply` compares it to stay idempotent. */
export function specHash(spec: AgentCardSpec): string {
  const normalized = {
    ...spec,
    code_hashes: [...spec.code_hashes].sort(),
    config_hashes: [...spec.config_hashes].sort(),
  };
  return crypto.createHash('sha256').update(JSON.stringify(normalized)).digest('hex');
}

export function cardFlags(spec: AgentCardSpec): string[] {
  const flags: string[] = [];
  if (!spec.owner) flags.push('no-owner');
  if (spec.environment === 'prod' && spec.code_hashes.length === 0) flags.push('no-code-hashes');
  return flags;
}
