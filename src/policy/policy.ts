/**
 * One Cedar policy as Mandate loaded it: where it came from, what it says, and the annotations
 * Mandate reads from it.
 */
import type { PolicyJson } from '@cedar-policy/cedar-wasm/nodejs';
import type { Location } from './location.ts';

export interface Policy {
  /** `@id("...")` when present, else `<file>:<index>` (0-based index in the file). */
  readonly id: string;
  readonly at: Location;
  readonly effect: 'permit' | 'forbid';
  /** The policy's own text, annotations included. */
  readonly text: string;
  readonly json: PolicyJson;
  readonly annotations: Readonly<Record<string, string>>;
  /** `@reason("...")`: the message shown to the agent when this policy determines a decision. */
  readonly reason: string | null;
  /** `@approval("required")` on a forbid: an approval granted for the call lifts this forbid. */
  readonly liftableByApproval: boolean;
  /** `@approval("consent")`: the person the agent acts for may give that approval themselves. */
  readonly consent: boolean;
}

/** A reason a policy file was refused (or, for warnings, accepted with a remark). */
export interface PolicyProblem extends Location {
  readonly reason: string;
  /** The policy it concerns, when the problem is about one policy. */
  readonly policy?: string;
}
