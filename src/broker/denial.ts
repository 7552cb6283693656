import type { CallOutcome } from '../enforcement/call.ts';
import { MandateError } from '../errors.ts';

/**
 * A call the shared decision path refused, as the agent sees it: 403 with the policy's reason,
 * 429 (with Retry-After) for rate limits, 503 when Mandate could not decide or record the call,
 * and the status the refusal names when it has one (400: arguments that cannot be read).
 */
export class BrokerDenial extends MandateError {
  readonly retryAfter: number | undefined;
  readonly approval: { id: string; status: string; expires_at: string } | undefined;

  constructor(outcome: Extract<CallOutcome, { allowed: false }>) {
    const status = outcome.status ?? (outcome.code === 'ERR_RATE_LIMITED' ? 429 : /_UNAVAILABLE$/.test(outcome.code) ? 503 : 403);
    super(outcome.code, outcome.message, { status, expose: true });
    this.name = 'BrokerDenial';
    this.retryAfter = outcome.retryAfter;
    this.approval = outcome.approval ? { id: outcome.approval.id, status: outcome.approval.status, expires_at: outcome.approval.expiresAt } : undefined;
  }
}
