/**
 * Cedar's answer to one authorization call, reduced to an `Outcome` (see `decision.ts`). Policy sets
 * are preparsed as one text (three times faster than policy by policy), so Cedar names the policies
 * `policy0`, `policy1`, … in the order they were given; they are named back here.
 */
import type { AuthorizationAnswer } from '@cedar-policy/cedar-wasm/nodejs';
import type { Outcome } from './decision.ts';
import type { Policy } from './policy.ts';

export function outcomeOf(answer: AuthorizationAnswer, policies: readonly Policy[]): Outcome {
  if (answer.type === 'failure') {
    return {
      decision: 'deny',
      reason: [],
      errors: answer.errors.map((e) => e.message),
      errored: [],
    };
  }
  const idOf = (cedarId: string) => policies[Number(cedarId.slice('policy'.length))]?.id ?? cedarId;
  const { decision, diagnostics } = answer.response;
  return {
    decision,
    reason: diagnostics.reason.map(idOf).sort(),
    errors: diagnostics.errors.map((e) => `${idOf(e.policyId)}: ${e.error.message}`).sort(),
    errored: [...new Set(diagnostics.errors.map((e) => idOf(e.policyId)))].sort(),
  };
}

/** The answer Cedar gives when no policy is evaluated: deny by default. */
export const NO_POLICY: Outcome = {
  decision: 'deny',
  reason: [],
  errors: [],
  errored: [],
};
