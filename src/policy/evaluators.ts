/**
 * The two ways a request is put to Cedar, both over policy sets preparsed once per version:
 *
 * - sliced (the default): only the slice of policies that could apply, with only what they read;
 * - full: every policy, every entity and the whole context, with the request validated against the
 *   schema. The reference that slicing must agree with, decision for decision.
 *
 * Each running policy set has its own `PreparsedSets`, so keys need not name the version.
 */
import { preparseSchema, statefulIsAuthorized } from '@cedar-policy/cedar-wasm/nodejs';
import { MandateError } from '../errors.ts';
import type { CedarRequest } from './cedar-request.ts';
import type { Outcome } from './decision.ts';
import { NO_POLICY, outcomeOf } from './outcome.ts';
import type { PolicySet } from './policy-set.ts';
import type { PreparsedSets } from './preparsed.ts';
import { project } from './projection.ts';
import type { Schema } from './schema.ts';
import { sliceText } from './slice-text.ts';
import { type Slice, SliceIndex } from './slices.ts';

/** Evaluates a request: `run(false)` with every policy that applies, `run(true)` less liftable forbids. */
export type Evaluation = (withoutLiftable: boolean) => Outcome;

export interface Evaluator {
  /** Preparses what must exist before the set may serve (throws if Cedar refuses it). */
  prepare(): void;
  begin(request: CedarRequest): Evaluation;
}

/** Outcomes remembered per running set: Cedar's answer is a function of the slice and its inputs. */
const REMEMBERED = 10_000;

export function slicedEvaluator(set: PolicySet, sets: PreparsedSets, remember = true): Evaluator {
  const index = new SliceIndex(set);
  const remembered = new Map<string, Outcome>();
  const run = (request: CedarRequest, slice: Slice): Outcome => {
    if (slice.policies.length === 0) return NO_POLICY;
    const { context, entities } = project(request, slice.footprint, set.schema);
    // The projection holds only what the slice's policies read, so calls that differ in anything
    // else (time, trace, a budget no policy of the slice looks at) share one answer.
    const key = remember ? `${slice.key}\u0000${JSON.stringify([request.principal, request.action, request.resource, context, entities])}` : '';
    const known = remember ? remembered.get(key) : undefined;
    if (known) return known;
    const answer = statefulIsAuthorized({
      principal: request.principal,
      action: request.action,
      resource: request.resource,
      context,
      entities,
      preparsedPolicySetId: sets.idFor(slice.key, slice.policies, sliceText),
    });
    const outcome = freeze(outcomeOf(answer, slice.policies));
    if (!remember) return outcome;
    if (remembered.size >= REMEMBERED) remembered.delete(remembered.keys().next().value!);
    remembered.set(key, outcome);
    return outcome;
  };
  return {
    prepare() {},
    begin(request) {
      const slice = index.sliceFor(
        request.action.id,
        { uid: request.principal, ancestors: request.principalAncestors },
        { uid: request.resource, ancestors: request.resourceAncestors },
      );
      return (withoutLiftable) => run(request, (withoutLiftable && slice.lifted) || slice);
    },
  };
}

export function fullEvaluator(set: PolicySet, sets: PreparsedSets): Evaluator {
  const all = [...set.policies.values()];
  const kept = all.filter((p) => !p.liftableByApproval);
  const schemaName = preparedSchema(set.schema);
  const idFor = (withoutLiftable: boolean) =>
    withoutLiftable ? sets.idFor('full lifted', kept) : sets.idFor('full', all);
  const policiesOf = (withoutLiftable: boolean) => (withoutLiftable ? kept : all);
  return {
    prepare() {
      idFor(false);
    },
    begin(request) {
      return (withoutLiftable) =>
        outcomeOf(
          statefulIsAuthorized({
            principal: request.principal,
            action: request.action,
            resource: request.resource,
            context: request.context,
            entities: [request.entities.principal, ...request.entities.resource, ...(request.entities.person ? [request.entities.person] : [])],
            preparsedPolicySetId: idFor(withoutLiftable),
            preparsedSchemaName: schemaName,
            validateRequest: true,
          }),
          policiesOf(withoutLiftable),
        );
    },
  };
}

const freeze = (outcome: Outcome): Outcome =>
  Object.freeze({ ...outcome, reason: Object.freeze([...outcome.reason]), errors: Object.freeze([...outcome.errors]), errored: Object.freeze([...outcome.errored]) }) as Outcome;

const schemas = new Set<string>();

function preparedSchema(schema: Schema): string {
  const name = `mandate:schema:${schema.digest}`;
  if (!schemas.has(name)) {
    const answer = preparseSchema(name, schema.text);
    if (answer.type === 'failure') {
      throw new MandateError('ERR_SCHEMA_INVALID', 'Cedar could not preparse the schema');
    }
    schemas.add(name);
  }
  return name;
}
