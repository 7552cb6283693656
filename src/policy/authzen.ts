/**
 * AuthZEN-style access evaluation requests (OpenID AuthZEN Authorization API 1.0, §6 "Access
 * Evaluation API": `subject`, `action`, `resource`, `context`) mapped onto Mandate's decision
 * request, so a third-party enforcement point can ask `POST /v1/authorize`.
 *
 *   subject:  { type: "agent", id: <agent id>, properties: { instance, roles, owner, environment, toolset } }
 *   action:   { name: "tools/call" | "tools/list" | … }
 *   resource: { type: "tool", id: "<server>/<tool>", properties: { highImpact, cost?, classification? } }
 *             { type: "server" | "connection", id } | { type: "endpoint", id: "<connection>/<endpoint>", … }
 *             { type: "agent", id, properties: <card facts> }
 *   context:  Mandate's context fields, plus `person` (the on-behalf-of `sub`, or null) and
 *             `personGroups` (the person's groups: the mandate's `groups` claim)
 *
 * Unknown properties are ignored (AuthZEN properties are open); missing or malformed ones are
 * reported by path, and the request is denied. A third-party enforcement point should not be the
 * authority on an agent's roles or toolset: pass `cardOf` to take the card facts from the registry
 * (then `subject.properties` needs only `instance`, and an unknown agent is denied).
 */
import { z } from 'zod';
import type { Authorizer } from './authorizer.ts';
import { type Decision, failedDecision } from './decision.ts';
import {
  type AgentCardFacts,
  agentCardSchema,
  contextSchema,
  type DecisionRequest,
  issuesOf,
} from './request.ts';

const name = z.string().min(1).max(256);
/** Card facts are checked by `Authorizer.decide` (or come from the registry, see `cardOf`). */
const looseCard = agentCardSchema.omit({ id: true }).partial().strip();

export const authZenRequestSchema = z.object({
  subject: z.object({
    type: z.literal('agent'),
    id: name,
    properties: looseCard.extend({ instance: name }),
  }),
  action: z.object({ name }),
  resource: z.object({
    type: z.enum(['tool', 'server', 'endpoint', 'connection', 'peer', 'agent']),
    id: name,
    properties: z.record(z.string(), z.unknown()).optional(),
  }),
  context: z.record(z.string(), z.unknown()),
});

export type AuthZenRequest = z.input<typeof authZenRequestSchema>;

export type Mapped =
  | { ok: true; request: DecisionRequest }
  | { ok: false; errors: { path: string; message: string }[] };

/** Card facts of a registered agent, or undefined when the registry does not know it. */
export type CardOf = (agentId: string) => AgentCardFacts | undefined;

/** Maps an AuthZEN request body; the result still goes through `Authorizer.decide` validation. */
export function fromAuthZen(body: unknown, cardOf?: CardOf): Mapped {
  const parsed = authZenRequestSchema.safeParse(body);
  if (!parsed.success) return { ok: false, errors: issuesOf(parsed.error) };
  const { subject, action, resource, context } = parsed.data;
  if ((resource.type === 'tool' || resource.type === 'endpoint') && !/^[^/]+\/./.test(resource.id)) {
    const shape = resource.type === 'tool' ? '<server>/<tool>' : '<connection>/<endpoint>';
    return {
      ok: false,
      errors: [{ path: 'resource.id', message: `must be "${shape}"` }],
    };
  }
  const { instance, ...properties } = subject.properties;
  const registered = cardOf?.(subject.id);
  if (cardOf !== undefined && registered === undefined) {
    return { ok: false, errors: [{ path: 'subject.id', message: `unknown agent "${subject.id}"` }] };
  }
  const agent = registered ?? { id: subject.id, ...properties };
  const { person = null, personGroups, ...rest } = context as { person?: unknown; personGroups?: unknown };
  const knownContext = Object.fromEntries(Object.entries(rest).filter(([k]) => k in contextSchema.shape));
  return {
    ok: true,
    request: {
      principal: { instance, agent: agent as AgentCardFacts },
      person: person as string | null,
      ...(personGroups === undefined ? {} : { personGroups: personGroups as string[] }),
      action: action.name as DecisionRequest['action'],
      resource: resourceOf(resource.type, resource.id, resource.properties ?? {}),
      context: knownContext as DecisionRequest['context'],
    },
  };
}

function resourceOf(
  type: string,
  id: string,
  properties: Record<string, unknown>,
): DecisionRequest['resource'] {
  const { highImpact, cost, classification } = properties;
  const priced = {
    ...(cost === undefined ? {} : { cost }),
    ...(classification === undefined ? {} : { classification }),
  };
  const [container = id, ...member] = id.split('/');
  switch (type) {
    case 'tool':
      return {
        type,
        server: container,
        name: member.join('/'),
        highImpact,
        ...priced,
      } as DecisionRequest['resource'];
    case 'endpoint':
      return {
        type,
        connection: container,
        name: member.join('/'),
        highImpact,
        ...priced,
      } as DecisionRequest['resource'];
    case 'server':
      return { type, server: id, ...priced } as DecisionRequest['resource'];
    case 'connection':
      return { type, connection: id, ...priced } as DecisionRequest['resource'];
    case 'peer':
      return { type, peer: id, highImpact, ...priced } as DecisionRequest['resource'];
    default: {
      const card = Object.fromEntries(Object.entries(properties).filter(([k]) => k in agentCardSchema.shape));
      return {
        type: 'agent',
        agent: { ...card, id },
        ...priced,
      } as DecisionRequest['resource'];
    }
  }
}

/** Library paths (`principal.agent.roles`) spelled as the AuthZEN body has them. */
const PATHS: ReadonlyArray<[RegExp, string]> = [
  [/\bprincipal\.agent\./g, 'subject.properties.'],
  [/\bprincipal\.instance\b/g, 'subject.properties.instance'],
  [/\bresource\.(?!id\b|type\b)/g, 'resource.properties.'],
  [/\bperson\b/g, 'context.person'],
];

/**
 * Decides an AuthZEN request body: what `POST /v1/authorize` does. Never throws; a malformed body is
 * a deny whose errors name the offending fields by their AuthZEN paths.
 */
export function authorizeAuthZen(authorizer: Authorizer, body: unknown, cardOf?: CardOf): Decision {
  const mapped = fromAuthZen(body, cardOf);
  if (!mapped.ok) {
    const errors = mapped.errors.map((e) => `invalid request: ${e.path}: ${e.message}`);
    return failedDecision(authorizer.version, errors, errors[0]);
  }
  const decision = authorizer.decide(mapped.request);
  if (decision.errors.length === 0 || decision.policies.length > 0) return decision;
  const respell = (line: string) => PATHS.reduce((text, [from, to]) => text.replace(from, to), line);
  return {
    ...decision,
    errors: decision.errors.map(respell),
    obligations: {
      ...decision.obligations,
      reasons: decision.obligations.reasons.map(respell),
    },
  };
}

/** The AuthZEN response: `decision` as a boolean, Mandate's reasons in `context`. */
export function toAuthZen(decision: Decision) {
  return {
    decision: decision.decision === 'allow',
    context: {
      version: decision.version,
      policies: decision.policies,
      errors: decision.errors,
      obligations: decision.obligations,
      liftedByApproval: decision.liftedByApproval,
      reason_user: { en: decision.obligations.reasons.join('; ') },
    },
  };
}
