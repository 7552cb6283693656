/**
 * What an enforcement point asks: which agent instance (with its card's facts), on whose behalf,
 * which action on which resource, with the runtime context of the call. Validated with zod at the
 * boundary; an invalid request is denied with the validation errors, never thrown at the caller.
 */
import { z } from 'zod';
import { identifierProblem } from '../validation.ts';

export const ENVIRONMENTS = ['dev', 'staging', 'prod'] as const;
export const APPROVAL_STATES = ['none', 'pending', 'granted', 'denied'] as const;
export const CLASSIFICATIONS = ['public', 'internal', 'confidential', 'restricted'] as const;
/** What an agent may ask of another agent through Mandate (A2A JSON-RPC methods, v0.3 spelling). */
export const A2A_ACTIONS = [
  'a2a:message/send',
  'a2a:message/stream',
  'a2a:tasks/get',
  'a2a:tasks/cancel',
  'a2a:tasks/resubscribe',
  'a2a:tasks/pushNotificationConfig/set',
  'a2a:tasks/pushNotificationConfig/get',
  'a2a:tasks/pushNotificationConfig/list',
  'a2a:tasks/pushNotificationConfig/delete',
] as const;

export const ACTIONS = [
  'tools/call',
  'tools/list',
  'resources/read',
  'http:request',
  'token:exchange',
  'delegate',
  ...A2A_ACTIONS,
] as const;

/**
 * The actions synthetic worlds (benchmarks, slicing and conformance tests) draw from: every action
 * but the A2A methods, so their seeded worlds stay what they were (A2A is covered by its own tests).
 */
export const SYNTHETIC_ACTIONS = ACTIONS.filter((action) => !action.startsWith('a2a:'));

const name = z.string().min(1).max(256);
/** A name a decision is about: refused (the request denied) unless in its canonical form. */
const identifier = name.superRefine((value, check) => {
  const problem = identifierProblem(value);
  if (problem) check.addIssue({ code: 'custom', message: `${problem} (ERR_IDENTIFIER_NOT_CANONICAL)` });
});
/** A server or connection name: the part before the `/` of a tool or endpoint id. */
const segment = identifier.regex(/^[^/]+$/, 'must not contain "/"');
const units = z
  .number()
  .int()
  .min(-(2 ** 53 - 1))
  .max(2 ** 53 - 1);

/** The facts of an agent card that policies can read. */
export const agentCardSchema = z.strictObject({
  id: identifier,
  roles: z.array(identifier).max(64),
  /** The person who owns the agent (their `sub`); null when the card has none. */
  owner: identifier.nullable(),
  environment: z.enum(ENVIRONMENTS),
  /**
   * What the card lets the agent reach: `server` or `server/*` (every tool of an MCP server),
   * `server/tool`, and likewise `connection`, `connection/*` and `connection/endpoint`.
   */
  toolset: z.array(name).max(4096),
});

export const principalSchema = z.strictObject({
  instance: identifier,
  agent: agentCardSchema,
});

const priced = {
  /** Budget units the call costs; 0 when omitted. */
  cost: units.nonnegative().optional(),
  classification: z.enum(CLASSIFICATIONS).optional(),
};

export const resourceSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('tool'),
    server: segment,
    name: identifier,
    highImpact: z.boolean(),
    ...priced,
  }),
  z.strictObject({ type: z.literal('server'), server: segment, ...priced }),
  z.strictObject({
    type: z.literal('endpoint'),
    connection: segment,
    name: identifier,
    highImpact: z.boolean(),
    ...priced,
  }),
  z.strictObject({
    type: z.literal('connection'),
    connection: segment,
    ...priced,
  }),
  z.strictObject({
    type: z.literal('peer'),
    /** An agent reached over A2A through Mandate (`/a2a/<peer>`). */
    peer: segment,
    highImpact: z.boolean(),
    ...priced,
  }),
  z.strictObject({
    type: z.literal('agent'),
    agent: agentCardSchema,
    ...priced,
  }),
]);

export const contextSchema = z.strictObject({
  /** Scopes granted by the mandate. */
  scope: z.array(name).max(256),
  task: name.nullable().optional(),
  delegation: z.strictObject({
    depth: z.number().int().min(0).max(64),
    chain: z.array(name).max(64),
  }),
  environment: z.enum(ENVIRONMENTS),
  /** Absent or null when the mandate carries no budget. */
  budget: z
    .strictObject({ remaining: units, percent: z.number().min(0).max(100) })
    .nullable()
    .optional(),
  /** Behavioral risk score, 0..100. */
  risk: z.number().int().min(0).max(100),
  approval: z.enum(APPROVAL_STATES),
  /** Decision time (ISO 8601); the authorizer's clock when omitted. */
  time: z.iso.datetime({ offset: true }).optional(),
  /** W3C trace id. */
  trace: name.nullable().optional(),
  /** The call's arguments; policy sees the fields the schema's `Args` types (`context.args`). */
  args: z.record(z.string(), z.unknown()).optional(),
});

export const decisionRequestSchema = z.strictObject({
  principal: principalSchema,
  /** The person the agent acts for (`sub` of the mandate), or null. */
  person: identifier.nullable(),
  /** The person's groups (from their verified subject token): the `Mandate::Group`s their `User` is in. */
  personGroups: z.array(identifier).max(64).optional(),
  action: z.enum(ACTIONS),
  resource: resourceSchema,
  context: contextSchema,
});

export type AgentCardFacts = z.infer<typeof agentCardSchema>;
export type PrincipalInput = z.infer<typeof principalSchema>;
export type ResourceInput = z.infer<typeof resourceSchema>;
export type ContextInput = z.input<typeof contextSchema>;
export type DecisionRequest = z.input<typeof decisionRequestSchema>;
export type ParsedRequest = z.infer<typeof decisionRequestSchema>;

/** Zod issues as `{ path, message }` details, paths dotted and under `prefix`. */
export const issuesOf = (error: z.ZodError, prefix: readonly string[] = []) =>
  error.issues.map((i) => ({
    path: [...prefix, ...i.path.map(String)].join('.') || 'request',
    message: i.message,
  }));
