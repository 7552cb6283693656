/**
 * A decision and how it is reached from Cedar's answers.
 *
 * Cedar decides by default-deny and forbid-overrides; Mandate adds one rule, for forbids annotated
 * `@approval("required")`: a human approval granted for the call lifts them, and only them.
 *
 *   E = evaluation errors    F = satisfied forbids    P = satisfied permits
 *   A = every forbid in F carries @approval("required")    G = context.approval == "granted"
 *
 *   E | F | A | P | G || decision | policies | obligations.approval | liftedByApproval
 *   --+---+---+---+---++----------+----------+----------------------+-----------------
 *   ≠∅| * | * | * | * || deny     | errored  | null                 | []   any error denies
 *   ∅ | ∅ | - | ∅ | * || deny     | []       | null                 | []   deny by default
 *   ∅ | ∅ | - | ≠∅| * || allow    | P        | null                 | []
 *   ∅ | ≠∅| no| * | * || deny     | F        | null                 | []   forbid overrides
 *   ∅ | ≠∅|yes| ∅ | * || deny     | F        | null                 | []   approval would not help
 *   ∅ | ≠∅|yes| ≠∅| no|| deny     | F        | required             | []
 *   ∅ | ≠∅|yes| ≠∅|yes|| allow    | P        | null                 | F
 *
 * When the approval is required and every forbid in F carries `@approval("consent")`, the
 * obligation also says `consent: true`: the person the agent acts for may give that approval.
 *
 * Cedar reports P only when F = ∅, so when A holds the request is evaluated again without the
 * liftable forbids: that second answer is P (no other forbid can appear: none was satisfied).
 */
import type { Policy } from './policy.ts';

export interface Obligations {
  /** `required`: a human approval for this call would turn this deny into an allow. */
  readonly approval: 'required' | null;
  /** Set (true) when the approval required may be the consent of the person the agent acts for. */
  readonly consent?: true;
  /** Messages for the agent: the `@reason` of the determining policies, or why nothing allowed. */
  readonly reasons: readonly string[];
}

export interface Decision {
  readonly decision: 'allow' | 'deny';
  /** Ids of the policies that determined the decision (the errored ones when an error denied). */
  readonly policies: readonly string[];
  readonly errors: readonly string[];
  /** Version of the policy set that decided. */
  readonly version: string;
  readonly obligations: Obligations;
  /** `@approval("required")` forbids that a granted approval lifted to reach this allow. */
  readonly liftedByApproval: readonly string[];
}

/** One Cedar answer, reduced to what the truth table needs. */
export interface Outcome {
  readonly decision: 'allow' | 'deny';
  /** Cedar's determining policies: satisfied permits on allow, satisfied forbids on deny. */
  readonly reason: readonly string[];
  /** `<policy id>: <message>`, or Cedar's own message when the whole call failed. */
  readonly errors: readonly string[];
  readonly errored: readonly string[];
}

export interface Facts {
  readonly policies: ReadonlyMap<string, Policy>;
  readonly approvalGranted: boolean;
  readonly version: string;
}

export const DEFAULT_DENY = 'no policy permits this request';
export const EVALUATION_FAILED = 'the request could not be evaluated against the policies';

export function decisionOf(first: Outcome, withoutLiftable: () => Outcome, facts: Facts): Decision {
  const result = (decision: 'allow' | 'deny', policies: readonly string[], extra: Extra = {}): Decision => ({
    decision,
    policies,
    errors: extra.errors ?? [],
    version: facts.version,
    obligations: {
      approval: extra.approval ?? null,
      ...(extra.consent ? { consent: true as const } : {}),
      reasons: reasonsFor(decision, policies, extra, facts),
    },
    liftedByApproval: extra.lifted ?? [],
  });
  if (first.errors.length > 0) return result('deny', first.errored, { errors: first.errors });
  if (first.decision === 'allow') return result('allow', first.reason);
  const forbids = first.reason;
  if (forbids.length === 0) return result('deny', []);
  if (!forbids.every((id) => facts.policies.get(id)?.liftableByApproval === true))
    return result('deny', forbids);
  const second = withoutLiftable();
  if (second.errors.length > 0) return result('deny', second.errored, { errors: second.errors });
  if (second.decision === 'deny') return result('deny', forbids, { unpermitted: true });
  if (!facts.approvalGranted) {
    const consent = forbids.every((id) => facts.policies.get(id)?.consent === true);
    return result('deny', forbids, { approval: 'required', consent });
  }
  return result('allow', second.reason, { lifted: forbids });
}

/** A deny for a request that could not be evaluated at all (invalid input, engine failure). */
export function failedDecision(
  version: string,
  errors: readonly string[],
  reason = EVALUATION_FAILED,
): Decision {
  return {
    decision: 'deny',
    policies: [],
    errors,
    version,
    obligations: { approval: null, reasons: [reason] },
    liftedByApproval: [],
  };
}

interface Extra {
  readonly errors?: readonly string[];
  readonly approval?: 'required';
  readonly consent?: boolean;
  readonly lifted?: readonly string[];
  /** Liftable forbids matched, but nothing permits the request either. */
  readonly unpermitted?: boolean;
}

function reasonsFor(
  decision: 'allow' | 'deny',
  policies: readonly string[],
  extra: Extra,
  facts: Facts,
): string[] {
  const reasonOf = (id: string) => facts.policies.get(id)?.reason ?? null;
  if (decision === 'allow') return policies.flatMap((id) => reasonOf(id) ?? []);
  if ((extra.errors ?? []).length > 0) return [EVALUATION_FAILED];
  const reasons = policies.map((id) => reasonOf(id) ?? `forbidden by policy ${id}`);
  if (policies.length === 0 || extra.unpermitted) reasons.push(DEFAULT_DENY);
  return [...new Set(reasons)];
}
