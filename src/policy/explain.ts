/**
 * `mandate policy explain request.json`: a decision, and each policy that could apply to the request
 * evaluated on its own (satisfied, not satisfied, or in error), in words.
 */
import { isAuthorized } from '@cedar-policy/cedar-wasm/nodejs';
import { Authorizer, type AuthorizerOptions } from './authorizer.ts';
import { authorizeAuthZen, type CardOf, fromAuthZen } from './authzen.ts';
import { type CedarRequest, toCedarRequest } from './cedar-request.ts';
import { type Decision, failedDecision } from './decision.ts';
import { formatLocation } from './location.ts';
import type { Policy } from './policy.ts';
import type { PolicySet } from './policy-set.ts';
import { SliceIndex } from './slices.ts';
import { argsReadBy, argsValueAt } from './args-read.ts';
import { type Uid, uidKey } from './uid.ts';

export type PolicyVerdict = 'satisfied' | 'not satisfied' | 'error';

export interface Explanation {
  readonly decision: Decision;
  /** Every policy whose scope could match the request, with its verdict alone. */
  readonly policies: readonly {
    readonly policy: Policy;
    readonly verdict: PolicyVerdict;
    readonly error?: string;
    /** The arguments the policy reads (`context.args`), with this call's value (absent: not carried or not typed). */
    readonly args?: readonly { readonly path: string; readonly value?: string }[];
  }[];
  readonly text: string;
}

export interface ExplainOptions extends AuthorizerOptions {
  /**
   * The registry's card facts: what `POST /v1/authorize` decides on. Given, the card facts of the
   * request (AuthZEN `subject.properties`, or `principal.agent` of a decision request) are
   * replaced by the registered card, and an unknown agent is denied, so an explanation never
   * contradicts the decision the server would make.
   */
  cardOf?: CardOf;
}

/** `input` is a `DecisionRequest` or an AuthZEN body (`subject`, `action`, `resource`, `context`). */
export function explain(set: PolicySet, input: unknown, options: ExplainOptions = {}): Explanation {
  const { cardOf, ...authorizerOptions } = options;
  const authorizer = new Authorizer(set, { ...authorizerOptions, slicing: false });
  const isAuthZen = typeof input === 'object' && input !== null && 'subject' in input;
  const mapped = isAuthZen ? fromAuthZen(input, cardOf) : null;
  const registered = !isAuthZen && cardOf ? withRegisteredCard(input, cardOf) : { ok: true as const, request: input };
  if (!registered.ok) {
    const decision = failedDecision(authorizer.version, [registered.error], registered.error);
    return { decision, policies: [], text: render(decision, null, []) };
  }
  const request = mapped?.ok ? mapped.request : registered.request;
  const decision = isAuthZen ? authorizeAuthZen(authorizer, input, cardOf) : authorizer.decide(request);
  let cedar: CedarRequest;
  try {
    cedar = toCedarRequest(request, set.schema, authorizerOptions.now ?? (() => new Date()));
  } catch {
    return { decision, policies: [], text: render(decision, null, []) };
  }
  const slice = new SliceIndex(set).sliceFor(
    cedar.action.id,
    { uid: cedar.principal, ancestors: cedar.principalAncestors },
    { uid: cedar.resource, ancestors: cedar.resourceAncestors },
  );
  const policies = slice.policies.map((policy) => ({
    policy,
    ...verdictOf(policy, cedar, set),
    ...argsOf(policy, cedar),
  }));
  return { decision, policies, text: render(decision, cedar, policies) };
}

/** A decision request whose `principal.agent` is the registered card of the agent it names. */
function withRegisteredCard(input: unknown, cardOf: CardOf): { ok: true; request: unknown } | { ok: false; error: string } {
  const principal = (input as { principal?: { agent?: { id?: unknown } } } | null)?.principal;
  const id = principal?.agent?.id;
  const card = typeof id === 'string' ? cardOf(id) : undefined;
  if (card === undefined) return { ok: false, error: `invalid request: principal.agent.id: unknown agent "${String(id)}"` };
  return { ok: true, request: { ...(input as object), principal: { ...principal, agent: card } } };
}

function argsOf(policy: Policy, request: CedarRequest): { args?: { path: string; value?: string }[] } {
  const paths = argsReadBy(policy.json);
  if (paths.length === 0) return {};
  const args = (request.context as { args?: unknown }).args;
  return {
    args: paths.map((path) => {
      const value = argsValueAt(args, path);
      return value === undefined ? { path } : { path, value };
    }),
  };
}

function verdictOf(
  policy: Policy,
  request: CedarRequest,
  set: PolicySet,
): { verdict: PolicyVerdict; error?: string } {
  const answer = isAuthorized({
    principal: request.principal,
    action: request.action,
    resource: request.resource,
    context: request.context,
    entities: [request.entities.principal, ...request.entities.resource, ...(request.entities.person ? [request.entities.person] : [])],
    policies: { staticPolicies: { [policy.id]: policy.text } },
    schema: set.schema.text,
    validateRequest: true,
  });
  if (answer.type === 'failure')
    return {
      verdict: 'error',
      error: answer.errors.map((e) => e.message).join('; '),
    };
  const { reason, errors } = answer.response.diagnostics;
  if (errors.length > 0)
    return {
      verdict: 'error',
      error: errors.map((e) => e.error.message).join('; '),
    };
  return { verdict: reason.length > 0 ? 'satisfied' : 'not satisfied' };
}

function render(decision: Decision, request: CedarRequest | null, policies: Explanation['policies']): string {
  const lines = [`${decision.decision.toUpperCase()}  (policy set ${decision.version})`];
  if (request !== null) {
    lines.push(
      `  principal ${uidKey(request.principal)}`,
      `  action    ${uidKey(request.action)}`,
      `  resource  ${uidKey(request.resource)}`,
    );
    const person = request.entities.person;
    if (person !== undefined) {
      const groups = (person.parents as Uid[]).map(uidKey);
      lines.push(`  person    ${uidKey(person.uid as Uid)}${groups.length ? ` in ${groups.join(', ')}` : ' (in no group)'}`);
    }
  }
  lines.push('', `determined by: ${decision.policies.join(', ') || 'no policy (deny by default)'}`);
  if (decision.liftedByApproval.length > 0)
    lines.push(`lifted by the granted approval: ${decision.liftedByApproval.join(', ')}`);
  if (decision.obligations.approval === 'required') {
    lines.push('approval required: a granted approval for this call would allow it');
  }
  for (const reason of decision.obligations.reasons) lines.push(`reason: ${reason}`);
  for (const error of decision.errors) lines.push(`error: ${error}`);
  if (policies.length > 0) lines.push('', 'policies whose scope could match, each evaluated alone:');
  for (const { policy, verdict, error, args } of policies) {
    const marks = [policy.liftableByApproval ? ' @approval' : '', error ? ` (${error})` : ''].join('');
    lines.push(
      `  ${policy.effect.padEnd(6)} ${verdict.padEnd(13)} ${policy.id}  ${formatLocation(policy.at)}${marks}`,
    );
    // Which argument decided: what the policy reads of the call's arguments, and the value it saw.
    for (const { path, value } of args ?? []) lines.push(`         reads context.args.${path} = ${value ?? '(absent)'}`);
  }
  return lines.join('\n');
}
