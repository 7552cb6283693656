import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseOrThrow } from '../validation.ts';

/**
 * Alert rules, configured like governance: one zod schema is the source of the defaults, the
 * validation and the README table; read from `<data dir>/alerts.yaml` (JSON is YAML too) when
 * present. Every rule can be switched off with `enabled: false`.
 */
const seconds = (fallback: number, max = 7 * 86_400) => z.number().int().min(1).max(max).default(fallback);
const enabled = z.boolean().default(true);

export const alertConfigSchema = z.strictObject({
  /** One rule raises for one subject (agent, sink, replica…) at most once per this many seconds; later hits are counted, not sent. */
  cooldownSeconds: z.number().int().min(0).max(86_400).default(300),
  /** How often the backlog, sink-lag and replica checks run. */
  checkEverySeconds: seconds(15, 3600),
  anomaly: z
    .strictObject({
      enabled,
      /** An anomaly whose risk (0..100) reaches this raises an alert; `suspend` responses always do. */
      minRisk: z.number().int().min(0).max(100).default(60),
    })
    .prefault({}),
  refusalBurst: z
    .strictObject({
      enabled,
      /** This many refused calls of one agent… */
      refusals: z.number().int().min(1).max(100_000).default(20),
      /** …within this many seconds. */
      windowSeconds: seconds(60, 3600),
    })
    .prefault({}),
  approvalBacklog: z
    .strictObject({
      enabled,
      /** More approvals than this waiting for a person… */
      pending: z.number().int().min(0).default(10),
      /** …or the oldest waiting longer than this. */
      oldestSeconds: seconds(600),
    })
    .prefault({}),
  sinkLag: z
    .strictObject({
      enabled,
      /** A sink with more events than this waiting… */
      events: z.number().int().min(0).default(1000),
      /** …or whose oldest waiting event is older than this. */
      oldestSeconds: seconds(300),
    })
    .prefault({}),
  replicaUnsynchronized: z
    .strictObject({
      enabled,
      /** A replica that has not followed every change for longer than this. */
      seconds: seconds(30),
    })
    .prefault({}),
  auditVerification: z.strictObject({ enabled }).prefault({}),
});

export type AlertConfig = z.output<typeof alertConfigSchema>;
export type AlertRule = Exclude<keyof AlertConfig, 'cooldownSeconds' | 'checkEverySeconds'>;
export const ALERT_RULES: readonly AlertRule[] = ['anomaly', 'refusalBurst', 'approvalBacklog', 'sinkLag', 'replicaUnsynchronized', 'auditVerification'];

/** Rule names as the trail and the CLI spell them. */
export const ruleName: Record<AlertRule, string> = {
  anomaly: 'anomaly',
  refusalBurst: 'refusal-burst',
  approvalBacklog: 'approval-backlog',
  sinkLag: 'sink-lag',
  replicaUnsynchronized: 'replica-unsynchronized',
  auditVerification: 'audit-verification',
};

export const ALERTS_FILE = 'alerts.yaml';

export const parseAlertConfig = (input: unknown): AlertConfig => parseOrThrow(alertConfigSchema, input ?? {}, 'alert rules');

/** The data directory's `alerts.yaml`, or the defaults. */
export function loadAlertConfig(dataDir: string): AlertConfig {
  const file = path.join(dataDir, ALERTS_FILE);
  if (!fs.existsSync(file)) return parseAlertConfig({});
  return parseAlertConfig(parseYaml(fs.readFileSync(file, 'utf8'), { maxAliasCount: 100 }));
}
