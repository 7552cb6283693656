/**
 * The policy decision point: holds the running policy set and decides requests against it.
 *
 * `decide` never throws: an invalid request, an evaluation error or an engine failure is a deny that
 * says why. `reload` swaps in a new set only once it is ready to serve; until then, and if it fails,
 * the running set keeps deciding.
 */
import { isMandateError } from '../errors.ts';
import { type CedarRequest, toCedarRequest } from './cedar-request.ts';
import { type Decision, decisionOf, failedDecision } from './decision.ts';
import { type Evaluator, fullEvaluator, slicedEvaluator } from './evaluators.ts';
import { footprintOf } from './footprint.ts';
import { loadPolicySet, type PolicySet } from './policy-set.ts';
import { PreparsedSets } from './preparsed.ts';
import type { DecisionRequest } from './request.ts';
import type { Schema } from './schema.ts';

export interface AuthorizerOptions {
  /** Decision time when a request carries none. */
  readonly now?: () => Date;
  /**
   * `true` (default): evaluate only the slice of policies that could apply. `false`: evaluate every
   * policy with the request validated against the schema (the reference; slower).
   */
  readonly slicing?: boolean;
  /** Most preparsed slices kept at once (default 4096). */
  readonly maxSlices?: number;
  /**
   * `true` (default): remember Cedar's answer per slice and projected inputs (up to 10,000 per
   * running set), so a repeated call skips the engine. `false`: ask Cedar every time.
   */
  readonly remember?: boolean;
}

interface Running {
  readonly set: PolicySet;
  readonly evaluator: Evaluator;
  readonly sets: PreparsedSets;
  readonly readsArguments: boolean;
}

export class Authorizer {
  readonly #options: Required<AuthorizerOptions>;
  #running: Running;

  constructor(set: PolicySet = loadPolicySet([]), options: AuthorizerOptions = {}) {
    this.#options = {
      now: options.now ?? (() => new Date()),
      slicing: options.slicing ?? true,
      maxSlices: options.maxSlices ?? 4096,
      remember: options.remember ?? true,
    };
    this.#running = this.#prepare(set);
  }

  get policySet(): PolicySet {
    return this.#running.set;
  }

  get version(): string {
    return this.#running.set.version;
  }

  /**
   * Whether any running policy reads `context.args` (or the whole context): an enforcement point
   * need not hand a call's arguments to policy otherwise (a large body is not copied for nothing).
   */
  get readsArguments(): boolean {
    return this.#running.readsArguments;
  }

  /**
   * Makes `set` the running set. A `PolicySet` is valid by construction (`loadPolicySet` refuses
   * invalid files), so the only failure left is Cedar refusing to preparse it; then this throws and
   * the running set stays.
   */
  reload(set: PolicySet): void {
    const next = this.#prepare(set);
    const previous = this.#running;
    this.#running = next;
    previous.sets.clear();
  }

  decide(request: DecisionRequest | unknown): Decision {
    const { set, evaluator } = this.#running;
    let cedar: CedarRequest;
    try {
      cedar = toCedarRequest(request, set.schema, this.#options.now);
    } catch (error) {
      const details = isMandateError(error) ? (error.details ?? []) : [];
      const errors = details.map((d) => `invalid request: ${d.path}: ${d.message}`);
      return failedDecision(set.version, errors, errors[0] ?? 'invalid request');
    }
    try {
      const evaluate = evaluator.begin(cedar);
      return decisionOf(evaluate(false), () => evaluate(true), {
        policies: set.policies,
        approvalGranted: cedar.approvalGranted,
        version: set.version,
      });
    } catch (error) {
      const message = isMandateError(error) ? error.message : 'the policy engine failed';
      return failedDecision(set.version, [message]);
    }
  }

  /**
   * Decides under `schema` from now on (the same files, with `context.args` typed anew after a pin
   * or a connection changed). A set that no longer validates under it (a policy reads an argument
   * no source declares any more) throws, and the running set keeps deciding under its schema.
   */
  useSchema(schema: Schema): void {
    const running = this.#running.set;
    if (running.schema === schema) return;
    this.reload(loadPolicySet(running.sources, { schema }));
  }

  #prepare(set: PolicySet): Running {
    const sets = new PreparsedSets(this.#options.maxSlices);
    const evaluator = this.#options.slicing ? slicedEvaluator(set, sets, this.#options.remember) : fullEvaluator(set, sets);
    try {
      evaluator.prepare();
    } catch (error) {
      sets.clear();
      throw error;
    }
    const readsArguments = [...set.policies.values()].some((policy) => {
      const { context } = footprintOf(policy.json);
      return context === 'all' || context.has('args');
    });
    return { set, evaluator, sets, readsArguments };
  }
}
