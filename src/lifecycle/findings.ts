import { createHmac, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { SYSTEM_CHAIN, type AuditWriter } from '../audit/writer.ts';
import { MandateError } from '../errors.ts';
import { environments, slugSchema } from '../registry/agent-card.ts';
import { parseAgentCard, registerAgent } from '../registry/agents.ts';
import { type FindingRow, findingsRepository } from '../store/repositories/findings.ts';
import type { Store } from '../store/store.ts';
import { redactCredentials } from './discovery/credentials.ts';
import type { FindingDraft } from './discovery/finding-draft.ts';

/**
 * The findings queue of shadow-agent discovery: every scanner reports here; security claims a
 * finding (a draft agent card with an owner, so the agent enters governance) or dismisses it with
 * a reason. A finding never holds a credential: only an HMAC of its hash and a hint.
 */
export interface FindingDeps {
  store: Store;
  audit: AuditWriter;
  now: () => Date;
  /** Keys credential hashes and finding fingerprints (derived from the master key). */
  auditKey: Uint8Array;
}

export interface Finding {
  id: string;
  scanner: string;
  kind: string;
  status: 'open' | 'claimed' | 'dismissed';
  severity: string;
  title: string;
  source: string;
  detail: Record<string, unknown>;
  first_seen: string;
  last_seen: string;
  seen: number;
  agent: string | null;
  owner: string | null;
  reason: string | null;
  decided_by: string | null;
  decided_at: string | null;
}

export const findingOf = (row: FindingRow): Finding => ({
  id: row.id,
  scanner: row.scanner,
  kind: row.kind,
  status: row.status as Finding['status'],
  severity: row.severity,
  title: row.title,
  source: row.source,
  detail: JSON.parse(row.detail) as Record<string, unknown>,
  first_seen: row.first_seen,
  last_seen: row.last_seen,
  seen: row.seen_count,
  agent: row.agent_id,
  owner: row.owner,
  reason: row.reason,
  decided_by: row.decided_by,
  decided_at: row.decided_at,
});

const keyed = (key: Uint8Array, label: string, value: string) => createHmac('sha256', key).update(`${label}\n${value}`).digest('hex');

/** Scrub every string a client sent: a credential that slipped into a title or field becomes its hint. */
const scrub = (value: unknown): unknown =>
  typeof value === 'string' ? redactCredentials(value) : Array.isArray(value) ? value.map(scrub) : value;

export interface ReportOutcome {
  new: number;
  seen: number;
  findings: Finding[];
}

/**
 * Keep what scanners found: new findings are added, known ones (same fingerprint) counted again.
 * `fromClient`: the drafts come over the API (the CLI's config scan), so every string in them is
 * scrubbed of anything that looks like a credential; the server's own scanners report names (a
 * role such as `mandate_<hex>`) that would otherwise be taken for one.
 */
export async function reportFindings(deps: FindingDeps, drafts: readonly FindingDraft[], fromClient = false): Promise<ReportOutcome> {
  const clean = fromClient ? redactCredentials : (text: string) => text;
  const at = deps.now().toISOString();
  const repo = findingsRepository(deps.store.db);
  const outcome: ReportOutcome = { new: 0, seen: 0, findings: [] };
  for (const draft of drafts) {
    const fingerprint = keyed(deps.auditKey, 'finding', `${draft.scanner}\n${draft.key}`);
    const detail: Record<string, unknown> = fromClient ? Object.fromEntries(Object.entries(draft.detail).map(([k, v]) => [k, scrub(v)])) : { ...draft.detail };
    if (draft.credential) {
      detail.credential = { type: draft.credential.type, hint: draft.credential.hint, fingerprint: `hmac-sha256:${keyed(deps.auditKey, 'finding-credential', draft.credential.sha256)}` };
    }
    const row: FindingRow = {
      id: `fnd_${randomBytes(8).toString('hex')}`,
      scanner: draft.scanner,
      kind: draft.kind,
      fingerprint,
      status: 'open',
      severity: draft.severity,
      title: clean(draft.title),
      source: clean(draft.source),
      detail: JSON.stringify(detail),
      first_seen: at,
      last_seen: at,
      seen_count: 1,
      agent_id: null,
      owner: null,
      reason: null,
      decided_by: null,
      decided_at: null,
    };
    const added = await repo.report(row);
    if (added) {
      outcome.new++;
      await deps.audit.append({
        chain: SYSTEM_CHAIN,
        type: 'lifecycle.finding_reported',
        actor: { instance: null, agent: null, person: null, delegation: [] },
        action: `discover:${draft.scanner}`,
        resource: row.source.slice(0, 4000),
        status: 'success',
        data: { finding: row.id },
        reasons: { message: `${draft.severity}: ${row.title}` },
      });
    } else outcome.seen++;
    const stored = await repo.byFingerprint(fingerprint);
    if (stored) outcome.findings.push(findingOf(stored));
  }
  return outcome;
}

export async function listFindings(deps: Pick<FindingDeps, 'store'>, filter: { status?: string | undefined; scanner?: string | undefined }): Promise<Finding[]> {
  return (await findingsRepository(deps.store.db).list({ ...filter, limit: 1000 })).map(findingOf);
}

export async function getFinding(deps: Pick<FindingDeps, 'store'>, id: string): Promise<Finding> {
  const row = await findingsRepository(deps.store.db).find(id);
  if (!row) throw new MandateError('ERR_FINDING_NOT_FOUND', `no finding ${id}`);
  return findingOf(row);
}

async function openFinding(deps: FindingDeps, id: string): Promise<Finding> {
  const finding = await getFinding(deps, id);
  if (finding.status !== 'open') throw new MandateError('ERR_FINDING_DECIDED', `finding ${id} was ${finding.status} already`);
  return finding;
}

export const claimSchema = z.strictObject({
  agent_id: slugSchema,
  owner: z.string().trim().min(1).max(320),
  name: z.string().trim().min(1).max(200).optional(),
  environment: z.enum(environments).default('dev'),
  purpose: z.string().max(1500).optional(),
});
export type Claim = z.output<typeof claimSchema>;

export const dismissSchema = z.strictObject({ reason: z.string().trim().min(3, 'say why (at least 3 characters)').max(2000) });

/**
 * Claim a finding: a draft agent card (no toolset, no instance until an operator resumes it) with
 * the named owner brings the shadow agent into governance; the finding records the agent.
 */
export async function claimFinding(deps: FindingDeps, id: string, claim: Claim, by: string | null): Promise<{ finding: Finding; agent: unknown }> {
  const finding = await openFinding(deps, id);
  const spec = parseAgentCard({
    id: claim.agent_id,
    name: claim.name ?? claim.agent_id,
    owner: claim.owner,
    environment: claim.environment,
    purpose: claim.purpose ?? `claimed from discovery finding ${finding.id}: ${finding.title}`.slice(0, 2000),
  });
  const now = deps.now();
  const agent = await deps.store.transaction(async (trx) => {
    const registered = await registerAgent(trx, spec, now, 'draft');
    const decided = await findingsRepository(trx).decide(id, { status: 'claimed', agent_id: spec.id, owner: claim.owner, reason: null, decided_by: by, decided_at: now.toISOString() });
    if (!decided) throw new MandateError('ERR_FINDING_DECIDED', `finding ${id} was decided meanwhile`);
    return registered;
  });
  await deps.audit.append({
    chain: SYSTEM_CHAIN,
    type: 'lifecycle.finding_claimed',
    actor: { instance: null, agent: spec.id, person: by, delegation: [] },
    action: 'finding:claim',
    resource: id,
    status: 'success',
    data: { finding: id },
    reasons: { message: `draft agent card ${spec.id} owned by ${claim.owner}` },
  });
  return { finding: await getFinding(deps, id), agent };
}

export async function dismissFinding(deps: FindingDeps, id: string, reason: string, by: string | null): Promise<Finding> {
  await openFinding(deps, id);
  const decided = await findingsRepository(deps.store.db).decide(id, { status: 'dismissed', agent_id: null, owner: null, reason, decided_by: by, decided_at: deps.now().toISOString() });
  if (!decided) throw new MandateError('ERR_FINDING_DECIDED', `finding ${id} was decided meanwhile`);
  await deps.audit.append({
    chain: SYSTEM_CHAIN,
    type: 'lifecycle.finding_dismissed',
    actor: { instance: null, agent: null, person: by, delegation: [] },
    action: 'finding:dismiss',
    resource: id,
    status: 'success',
    data: { finding: id },
    reasons: { message: reason },
  });
  return getFinding(deps, id);
}
