import type { CallOutcome } from '../enforcement/call-request.ts';
import { MandateError } from '../errors.ts';

/**
 * A call the shared decision path refused, as the agent sees it, with the catalogue's status for
 * its code: 403 with the policy's reason, 429 (with Retry-After) for rate limits, 503 when Mandate
 * could not decide or record the call.
 */
export class BrokerDenial extends MandateError {
  readonly retryAfter: number | undefined;
  readonly approval: { id: string; status: string; expires_at: string } | undefined;
  /** The argument that decided (`ERR_RECORD_CONSTRAINT`). */
  readonly field: string | undefined;

  constructor(outcome: Extract<CallOutcome, { allowed: false }>) {
    super(outcome.code, outcome.message, { expose: true });
    this.name = 'BrokerDenial';
    this.retryAfter = outcome.retryAfter;
    this.field = outcome.field;
    this.approval = outcome.approval ? { id: outcome.approval.id, status: outcome.approval.status, expires_at: outcome.approval.expiresAt } : undefined;
  }
}
