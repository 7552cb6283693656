import crypto from 'node:crypto';
import { MandateError, refusal } from '../errors.ts';
import { approvalsRepository } from '../store/repositories/approvals.ts';
import type { ApprovalsTable } from '../store/schema.ts';
import type { Queryable } from '../store/store.ts';

/**
 * Human approvals. A held call becomes a `pending` approval bound to that exact call: mandate
 * (jti), resource and arguments digest. A person grants or denies it; a granted approval is
 * consumed by the one retry it lifts (an atomic `granted → consumed` update, so two replicas
 * cannot both use it). Pending and granted approvals expire; `expired` is computed, not stored.
 *
 *   pending ──approve──▶ granted ──retry of the same call──▶ consumed
 *      │                    └── past expires_at: expired
 *      ├──deny──▶ denied
 *      └── past expires_at: expired
 *
 * Consent: when every policy holding the call says `@approval("consent")` and the call is not
 * high-impact, the approval records `consent: true` (inside `why`) and the person the agent acts
 * for may grant or deny it themselves, signed in with a person token from a trusted issuer
 * (`POST /v1/approvals/:id/consent`). High-impact calls and calls held for unusual behavior always
 * need an approver.
 */
export const approvalStatuses = ['pending', 'granted', 'denied', 'consumed', 'expired'] as const;
export type ApprovalStatus = (typeof approvalStatuses)[number];

export interface Approval {
  id: string;
  status: ApprovalStatus;
  instance: string;
  agent: string;
  person: string | null;
  owner: string | null;
  mandate: string;
  action: string;
  resource: string;
  args_digest: string;
  why: { policies: string[]; reasons: string[]; anomalies: string[]; consent?: boolean };
  /** The person the agent acts for may decide this approval themselves. */
  consent: boolean;
  risk: number;
  requested_at: string;
  expires_at: string;
  decided_at: string | null;
  decided_by: string | null;
  note: string | null;
  consumed_at: string | null;
}

/** What binds an approval to one call. */
export interface CallBinding {
  jti: string;
  resource: string;
  argsDigest: string;
}

export type NewApproval = Omit<Approval, 'id' | 'status' | 'consent' | 'decided_at' | 'decided_by' | 'note' | 'consumed_at' | 'mandate' | 'resource' | 'args_digest'> & { binding: CallBinding };

export const newApprovalId = () => `apr_${crypto.randomBytes(12).toString('base64url')}`;

function toApproval(row: ApprovalsTable, now: Date): Approval {
  const why = JSON.parse(row.why) as Approval['why'];
  const live = row.status === 'pending' || row.status === 'granted';
  return {
    id: row.id,
    status: live && row.expires_at <= now.toISOString() ? 'expired' : (row.status as ApprovalStatus),
    instance: row.instance_id,
    agent: row.agent_id,
    person: row.person,
    owner: row.owner,
    mandate: row.jti,
    action: row.action,
    resource: row.resource,
    args_digest: row.args_digest,
    why,
    consent: why.consent === true && row.person !== null,
    risk: Number(row.risk),
    requested_at: row.requested_at,
    expires_at: row.expires_at,
    decided_at: row.decided_at,
    decided_by: row.decided_by,
    note: row.note,
    consumed_at: row.consumed_at,
  };
}

export async function insertApproval(db: Queryable, id: string, input: NewApproval): Promise<void> {
  await approvalsRepository(db).insert({
    id,
    status: 'pending',
    instance_id: input.instance,
    agent_id: input.agent,
    person: input.person,
    owner: input.owner,
    jti: input.binding.jti,
    action: input.action,
    resource: input.binding.resource,
    args_digest: input.binding.argsDigest,
    why: JSON.stringify(input.why),
    risk: input.risk,
    requested_at: input.requested_at,
    expires_at: input.expires_at,
    decided_at: null,
    decided_by: null,
    note: null,
    consumed_at: null,
  });
}

/** The newest approval for this exact call that still matters: pending, granted or denied, unexpired. */
export async function approvalForCall(db: Queryable, binding: CallBinding, now: Date): Promise<Approval | null> {
  const row = await approvalsRepository(db).findForCall(binding, now.toISOString());
  return row ? toApproval(row, now) : null;
}

export async function getApproval(db: Queryable, id: string, now: Date): Promise<Approval> {
  const row = await approvalsRepository(db).find(id);
  if (!row) throw refusal('ERR_APPROVAL_NOT_FOUND', `approval ${id} not found`);
  return toApproval(row, now);
}

export interface ApprovalFilter {
  status?: ApprovalStatus | 'all' | undefined;
  agent?: string | undefined;
  instance?: string | undefined;
  limit?: number | undefined;
}

export async function listApprovals(db: Queryable, filter: ApprovalFilter, now: Date): Promise<Approval[]> {
  const rows = await approvalsRepository(db).list(
    { status: filter.status ?? 'pending', agentId: filter.agent, instanceId: filter.instance, limit: filter.limit ?? 100 },
    now.toISOString(),
  );
  return rows.map((row) => toApproval(row, now));
}

/** Approvals waiting for a person: how many, and the age in seconds of the oldest (0 when none). */
export async function approvalBacklog(db: Queryable, now: Date): Promise<{ pending: number; oldestSeconds: number }> {
  const { pending, oldest } = await approvalsRepository(db).backlog(now.toISOString());
  return { pending, oldestSeconds: oldest ? Math.max(0, (now.getTime() - Date.parse(oldest)) / 1000) : 0 };
}

/** A person's decision on a pending approval; only one decision ever lands. */
export async function decideApproval(
  db: Queryable,
  id: string,
  input: { verdict: 'granted' | 'denied'; by: string; note: string | null; now: Date; ttlSeconds: number },
): Promise<Approval> {
  const at = input.now.toISOString();
  const landed = await approvalsRepository(db).decide(
    id,
    {
      status: input.verdict,
      decided_at: at,
      decided_by: input.by,
      note: input.note,
      // A grant gives the agent a full period to retry the call.
      ...(input.verdict === 'granted' ? { expires_at: new Date(input.now.getTime() + input.ttlSeconds * 1000).toISOString() } : {}),
    },
    at,
  );
  const approval = await getApproval(db, id, input.now);
  if (landed) return approval;
  if (approval.status === 'expired') throw new MandateError('ERR_APPROVAL_EXPIRED', `approval ${id} expired at ${approval.expires_at}`);
  throw new MandateError('ERR_APPROVAL_DECIDED', `approval ${id} is already ${approval.status}`);
}

/** Use a granted approval for its call: true for exactly one caller. */
export async function consumeApproval(db: Queryable, id: string, now: Date): Promise<boolean> {
  return approvalsRepository(db).consume(id, now.toISOString());
}

/** Undo a consumption whose call was refused after all (its decision could not be audited). */
export async function restoreApproval(db: Queryable, id: string): Promise<void> {
  await approvalsRepository(db).restore(id);
}

/** The status of an approval, for an enforcement point waiting on it. */
export async function approvalStatus(db: Queryable, id: string, now: Date): Promise<ApprovalStatus | null> {
  const row = await approvalsRepository(db).find(id);
  if (!row) return null;
  return (row.status === 'pending' || row.status === 'granted') && row.expires_at <= now.toISOString() ? 'expired' : (row.status as ApprovalStatus);
}
