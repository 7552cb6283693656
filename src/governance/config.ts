import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseOrThrow } from '../validation.ts';

/**
 * Runtime governance settings: one zod schema is the source of the defaults, the validation and
 * the README table. Read from `<data dir>/governance.yaml` (JSON is YAML too) when present.
 */
function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const rateLimit = (limit: number) =>
  z
    .strictObject({
      /** Calls allowed per window; 0 turns the limit off. */
      limit: z.number().int().min(0).default(limit),
      windowSeconds: z.number().int().min(1).max(86_400).default(60),
    })
    .prefault({});

export const responses = ['record', 'approve', 'suspend'] as const;
export type Response = (typeof responses)[number];

const rule = <T extends z.ZodRawShape>(risk: number, response: Response, extra: T) =>
  z.strictObject({
    enabled: z.boolean().default(true),
    /** Added to the call's risk score (0..100) when the rule fires. */
    risk: z.number().int().min(0).max(100).default(risk),
    /** `record`: risk and audit only; `approve`: hold the call for a person; `suspend`: revoke the instance. */
    response: z.enum(responses).default(response),
    ...extra,
  });

export const governanceConfigSchema = z.strictObject({
  rateLimits: z
    .strictObject({
      instance: rateLimit(600),
      agent: rateLimit(3000),
      person: rateLimit(1200),
    })
    .prefault({}),
  behavior: z
    .strictObject({
      /** Allowed calls an agent makes before baseline rules (all but injection) can fire. */
      warmupCalls: z.number().int().min(0).default(50),
      /** IANA time zone in which "usual hours" are counted. */
      timeZone: z.string().min(1).refine(isTimeZone, 'unknown time zone').default('UTC'),
      newTool: rule(30, 'record', {}).prefault({}),
      burst: rule(40, 'record', {
        /** Fires when this minute's calls exceed `factor` × the agent's mean calls per active minute… */
        factor: z.number().min(1).default(5),
        /** …and at least this many. */
        minCalls: z.number().int().min(1).default(20),
      }).prefault({}),
      offHours: rule(20, 'record', {
        /** An hour of the day the agent worked in on less than this share of its earlier active days is unusual… */
        minShare: z.number().min(0).max(1).default(0.1),
        /** …once it has at least this many earlier active days. */
        minDays: z.number().int().min(1).default(2),
      }).prefault({}),
      longChain: rule(40, 'approve', {
        /** Fires when the delegation chain is longer than the longest seen by more than this. */
        margin: z.number().int().min(0).default(1),
      }).prefault({}),
      injection: rule(60, 'approve', {
        /** Extra phrases, matched case-insensitively in every string argument. */
        markers: z.array(z.string().min(3).max(200)).max(200).default([]),
      }).prefault({}),
      newDestination: rule(30, 'approve', {}).prefault({}),
    })
    .prefault({}),
  approvals: z
    .strictObject({
      /** How long a request waits for a decision, and a granted approval waits for its call. */
      ttlSeconds: z.number().int().min(10).max(7 * 86_400).default(900),
      /** How long the MCP gateway holds a call open for a decision; 0 answers at once. */
      waitSeconds: z.number().min(0).max(300).default(0),
      /** An approver may not approve a call made for them or by an agent they own. */
      separationOfDuties: z.boolean().default(true),
    })
    .prefault({}),
});

export type GovernanceConfig = z.output<typeof governanceConfigSchema>;
export type GovernanceConfigInput = z.input<typeof governanceConfigSchema>;
export type RuleName = Exclude<keyof GovernanceConfig['behavior'], 'warmupCalls' | 'timeZone'>;

export const GOVERNANCE_FILE = 'governance.yaml';

export const parseGovernanceConfig = (input: unknown): GovernanceConfig =>
  parseOrThrow(governanceConfigSchema, input ?? {}, 'governance configuration');

/** The data directory's `governance.yaml`, or the defaults. */
export function loadGovernanceConfig(dataDir: string): GovernanceConfig {
  const file = path.join(dataDir, GOVERNANCE_FILE);
  if (!fs.existsSync(file)) return parseGovernanceConfig({});
  return parseGovernanceConfig(parseYaml(fs.readFileSync(file, 'utf8'), { maxAliasCount: 100 }));
}

/** Deep-merge `patch` over `base` (objects only; arrays and values replace). */
export function mergeConfig(base: unknown, patch: unknown): unknown {
  if (!isObject(base) || !isObject(patch)) return patch === undefined ? base : patch;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) out[key] = mergeConfig(base[key], value);
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
