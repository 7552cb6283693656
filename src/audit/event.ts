// Mandate audit event: one record of a per-chain hash chain, hashed over its RFC 8785 (JCS) form
import { hash } from 'node:crypto';
import { z } from 'zod';
import { refusal } from '../errors.ts';
import { canonicalize } from './jcs.ts';
import { leafHash } from './merkle.ts';

/** `prev_hash` of the first event of every chain. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * Event types are `<noun>.<past-verb>` within these families; enforcement points write
 * `tool.decision` / `http.decision` before forwarding a call and `tool.result` / `http.result`
 * after it; the A2A enforcement point writes `a2a.decision` / `a2a.result` on the caller's chain and
 * `a2a.received` on the callee's (the hop, with the derived mandate it was handed).
 * `lifecycle.sealed` closes a chain for good; `alert.raised` is an alert rule firing.
 */
export const EVENT_TYPE =
  /^(?:(?:identity|token|approval|anomaly|lifecycle|policy|admin|alert)\.[a-z][a-z_]*|(?:tool|http)\.(?:decision|result)|a2a\.(?:decision|result|received))$/;
export const SEALED_TYPE = 'lifecycle.sealed';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits');
const name = z.string().min(1).max(512);

export const actorSchema = z.strictObject({
  instance: name.nullish(),
  agent: name.nullish(),
  person: name.nullish(),
  /** Who delegated to whom, outermost first: person, agent instance, sub-agent instance, … */
  delegation: z.array(name).max(32),
  /** The id of the operator API token an admin change was made with (never the token itself). */
  token: name.nullish(),
});

export const reasonsSchema = z.strictObject({
  /** Ids of the policies that determined the decision. */
  policies: z.array(name).optional(),
  /** Outcome of the scope check, e.g. `github:issues.write covered`. */
  scope: z.string().max(1024).optional(),
  budget: z
    .strictObject({ limit: z.number(), spent: z.number(), remaining: z.number(), unit: name.optional() })
    .partial()
    .optional(),
  risk: z.number().min(0).optional(),
  /** Id of the approval that lifted a requirement. */
  approval: name.optional(),
  message: z.string().max(4096).optional(),
  /** Record constraints (RFC 9396 `mandate_record`): the fields a mandate constrains, or the field a call fell outside (never a value). */
  record: z.string().max(1024).optional(),
});

export const auditEventSchema = z.strictObject({
  id: name,
  time: z.iso.datetime(),
  /** `instance:<id>` for an agent instance's chain, `system` for the control plane's own. */
  chain: z.string().regex(/^(?:system|instance:[A-Za-z0-9._~:@-]{1,256})$/, 'must be system or instance:<id>'),
  seq: z.int().min(1),
  type: z.string().regex(EVENT_TYPE, 'must be <family>.<past-verb>'),
  actor: actorSchema,
  action: z.string().max(1024).nullish(),
  resource: z.string().max(4096).nullish(),
  decision: z.enum(['allow', 'deny']).nullish(),
  reasons: reasonsSchema.nullish(),
  status: z.enum(['success', 'failure', 'pending']),
  /** Stable error code of a denial or failure, e.g. `ERR_SCOPE_NOT_GRANTED`. */
  denial_reason: z.string().max(256).nullish(),
  data: z
    .strictObject({
      resources: z.array(z.string().max(4096)).optional(),
      bytes: z.int().min(0).optional(),
      /** The HTTP method of a broker call (`http.*` events). */
      method: z.string().regex(/^[A-Z]{1,20}$/).optional(),
      /** The upstream's HTTP status when it answered with an error (`http.result`, `ERR_UPSTREAM_HTTP_STATUS`). */
      upstream_status: z.int().min(100).max(599).optional(),
      /** Until when a held call's approval may be decided (`approval.requested`). */
      expires_at: z.iso.datetime().optional(),
      /** The person the agent acts for may consent to this held call themselves (`approval.requested`). */
      consent: z.boolean().optional(),
      /** The agent's owner after a lifecycle change, and before it (`lifecycle.owner_reassigned`, `lifecycle.orphaned`). */
      owner: name.optional(),
      previous_owner: name.optional(),
      /** When a lifecycle follow-up falls due: an orphaned agent's suspension (`lifecycle.orphaned`), a review item (`lifecycle.review_requested`, `lifecycle.review_reminded`). */
      due_at: z.iso.datetime().optional(),
      /** The access review campaign an event is about (`lifecycle.review_*`, `lifecycle.agent_trimmed`). */
      campaign: z.string().max(64).optional(),
      /** A discovery finding an event is about (`lifecycle.finding_*`). */
      finding: z.string().max(64).optional(),
      /** The alert rule that fired (`alert.raised`), e.g. `refusal-burst`. */
      rule: z.string().regex(/^[a-z][a-z-]{0,63}$/).optional(),
      /** How urgent an alert is (`alert.raised`). */
      severity: z.enum(['warning', 'critical']).optional(),
    })
    .nullish(),
  cost: z.number().min(0).nullish(),
  policy_version: z.string().max(256).nullish(),
  /** W3C trace-context trace-id of the call. */
  trace_id: z.string().regex(/^[0-9a-f]{32}$/, 'must be a W3C trace-id').nullish(),
  /** HMAC of the JCS of the full arguments (see redact.ts); the clear arguments never land here. */
  args_digest: z.string().regex(/^hmac-sha256:[0-9a-f]{64}$/).nullish(),
  /** Allow-listed top-level argument fields only. */
  args: z.record(z.string(), z.json()).nullish(),
  prev_hash: hex64,
  hash: hex64,
});

export type AuditEvent = z.infer<typeof auditEventSchema>;
/** An event before its hash is computed. */
export type UnhashedAuditEvent = Omit<AuditEvent, 'hash'>;

/**
 * Hex SHA-256 over the JCS of the event, `prev_hash` included and `hash` left out. Hashing the
 * canonical form means a record re-serialized with other member order or number spelling verifies.
 */
export function hashEvent(event: UnhashedAuditEvent | AuditEvent): string {
  // JCS leaves out undefined members; a spread is much cheaper than a rest copy without `hash`.
  return hash('sha256', canonicalize({ ...event, hash: undefined }), 'hex');
}

/**
 * The event's leaf in the RFC 9162 log over all chains: the leaf hash of its 32 hash bytes. The
 * hash already commits to the whole event and, through `prev_hash`, to its chain before it.
 */
export function eventLeafHash(event: Pick<AuditEvent, 'hash'>): Uint8Array {
  return leafHash(Buffer.from(event.hash, 'hex'));
}

/** Validate untrusted input (an import, an API body) as an audit event. */
export function parseAuditEvent(input: unknown): AuditEvent {
  const result = auditEventSchema.safeParse(input);
  if (result.success) return result.data;
  throw refusal(
    'ERR_AUDIT_EVENT_INVALID',
    'audit event is not valid',
    result.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
  );
}
