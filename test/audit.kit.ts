import type { AuditRecord } from '../src/audit/writer.ts';

/** A gateway decision as the enforcement point records it; every fifth one a denial. */
export function decisionRecord(chain: string, i: number, extra: Partial<AuditRecord> = {}): AuditRecord {
  return {
    chain,
    type: 'tool.decision',
    actor: { instance: chain.replace(/^instance:/, ''), agent: 'triage-bot', person: 'alice@example.com', delegation: ['alice@example.com'] },
    action: 'tools/call',
    resource: `github/create_issue`,
    decision: i % 5 === 4 ? 'deny' : 'allow',
    status: i % 5 === 4 ? 'failure' : 'success',
    denial_reason: i % 5 === 4 ? 'ERR_POLICY_DENIED' : null,
    reasons: { scope: 'tool:github/* covered', policies: ['permit-triage'] },
    args: { title: `issue ${i}` },
    ...extra,
  };
}
