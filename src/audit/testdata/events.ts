import { type ChainHead, appendEvent, type EventDraft } from '../chain.ts';
import type { AuditEvent } from '../event.ts';

const START = Date.UTC(2025, 5, 1, 9, 0, 0);

/** A realistic gateway event: decisions and results alternate, as the enforcement point writes them. */
export function draftAt(chain: string, i: number): EventDraft {
  const decision = i % 2 === 0;
  const denied = i % 10 === 4;
  return {
    id: `evt-${chain.slice(-6)}-${String(i).padStart(8, '0')}`,
    time: new Date(START + i * 1500).toISOString(),
    chain,
    type: decision ? 'tool.decision' : 'tool.result',
    actor: {
      instance: chain.replace(/^instance:/, ''),
      agent: 'triage-bot',
      person: 'alice@example.com',
      delegation: ['alice@example.com', `spiffe://mandate.local/agent/triage-bot/i/${chain.slice(9)}`],
    },
    action: 'github.create_issue',
    resource: 'mcp://github/repos/acme/api',
    decision: decision ? (denied ? 'deny' : 'allow') : null,
    reasons: decision
      ? {
          policies: denied ? ['forbid-prod-writes'] : ['permit-issue-triage'],
          scope: 'github:issues.write',
          budget: { limit: 100, spent: i % 100, remaining: 100 - (i % 100) },
          risk: (i % 7) / 10,
        }
      : null,
    status: denied ? 'failure' : 'success',
    denial_reason: denied ? 'ERR_POLICY_DENIED' : null,
    data: decision ? null : { resources: ['acme/api#1234'], bytes: 512 + (i % 300) },
    cost: decision ? null : 0.25,
    policy_version: 'sha256:3f1a9c0e',
    trace_id: (i.toString(16) + '4bf92f3577b34da6a3ce929d0e0e4736').slice(0, 32).padStart(32, '0'),
    args_digest: `hmac-sha256:${(i % 16).toString(16).repeat(64)}`,
    args: { repo: 'acme/api', title: `Flaky test #${i}` },
  };
}

/** `n` chained events, seq 1..n, continuing `head` when given. */
export function buildChain(n: number, chain = 'instance:i-7f3a', head: ChainHead | null = null): AuditEvent[] {
  const events: AuditEvent[] = [];
  let previous = head;
  for (let i = 0; i < n; i++) {
    const event = appendEvent(previous, draftAt(chain, (previous?.seq ?? 0) + 1));
    events.push(event);
    previous = event;
  }
  return events;
}
