import type { ErrorCode } from '../errors.ts';
import type { ResourceInput } from '../policy/request.ts';
import type { AgentCard } from '../registry/agent-card.ts';
import type { CallRef } from './events.ts';

/** One call as governance sees it. */
export interface GovernedCall extends CallRef {
  card: AgentCard;
  resource: ResourceInput;
  args?: Record<string, unknown> | undefined;
  /** HMAC digest of the arguments (binds approvals), or null for a call without arguments. */
  argsDigest: string | null;
  /** Outbound host, for calls through the broker. */
  destination?: string | undefined;
}

/** A refusal with its stable code, what the agent is told, and when or how it may try again. */
export interface Refusal {
  code: ErrorCode;
  message: string;
  /** Seconds after which the same call may succeed (rate limits). */
  retryAfter?: number;
  approval?: ApprovalTicket;
  /** The argument that decided (record constraints): its name, never its value. */
  field?: string;
}

export interface ApprovalTicket {
  id: string;
  status: 'pending' | 'denied';
  expiresAt: string;
}

export type ApprovalState = 'none' | 'pending' | 'granted' | 'denied';

/** What the policy sees from governance. */
export interface Signals {
  budgetRemaining: number;
}

/** What the baseline counts as "the tool": the resource, without per-call detail. */
export function toolKey(resource: ResourceInput): string {
  if (resource.type === 'tool') return `${resource.server}/${resource.name}`;
  if (resource.type === 'endpoint') return `${resource.connection}/${resource.name}`;
  if (resource.type === 'server') return resource.server;
  if (resource.type === 'connection') return resource.connection;
  if (resource.type === 'peer') return `a2a:${resource.peer}`;
  return `agent:${resource.agent.id}`;
}
