/**
 * The annotations Mandate gives a meaning to. Cedar ignores annotations; Mandate reads these:
 *
 * - `@id("...")`: the policy's id (unique in the set), cited in every decision it determines.
 * - `@reason("...")`: the message shown to the agent when the policy determines a decision.
 * - `@approval("required")`, on a forbid only: a human approval granted for the call lifts it.
 * - `@approval("consent")`, on a forbid only: the same, and the person the agent acts for may give
 *   that approval themselves (consent), unless the call is high-impact (src/governance/approvals.ts).
 */
import type { PolicyJson } from '@cedar-policy/cedar-wasm/nodejs';

export interface MandateAnnotations {
  readonly id: string | null;
  readonly reason: string | null;
  readonly liftableByApproval: boolean;
  /** `@approval("consent")`: the person the agent acts for may approve the call themselves. */
  readonly consent: boolean;
}

const APPROVAL_VALUES = new Set(['required', 'consent']);

export type AnnotationCheck = { ok: true; value: MandateAnnotations } | { ok: false; reason: string };

export function readAnnotations(json: PolicyJson): AnnotationCheck {
  const annotations = json.annotations ?? {};
  const id = annotations['id'];
  if (id !== undefined && id.trim() === '') return { ok: false, reason: '@id must not be empty' };
  const approval = annotations['approval'];
  if (approval !== undefined && !APPROVAL_VALUES.has(approval)) {
    return {
      ok: false,
      reason: `@approval must be "required" or "consent", not "${approval}"`,
    };
  }
  if (approval !== undefined && json.effect !== 'forbid') {
    return {
      ok: false,
      reason: `@approval("${approval}") only has a meaning on a forbid policy`,
    };
  }
  return {
    ok: true,
    value: {
      id: id ?? null,
      reason: annotations['reason'] ?? null,
      liftableByApproval: approval !== undefined,
      consent: approval === 'consent',
    },
  };
}
