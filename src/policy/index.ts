/**
 * The policy decision point: Cedar policies over Mandate's schema, decided with reasons.
 *
 * Server (`POST /v1/authorize`): `authorizeAuthZen(authorizer, body)` then `toAuthZen(decision)`.
 * Enforcement points: `authorizer.decide(request)` with a `DecisionRequest`.
 * CLI: `loadPolicyDir` (validate), `applyPolicyDir` (apply), `parsePolicyTests` + `runPolicyTests` +
 * `formatTestReport` (test), `explain` (explain).
 */
export {
  type Applied,
  applyPolicyDir,
  type WatchOptions,
  watchPolicyDir,
} from './apply.ts';
export { Authorizer, type AuthorizerOptions } from './authorizer.ts';
export {
  type AuthZenRequest,
  authorizeAuthZen,
  type CardOf,
  fromAuthZen,
  toAuthZen,
} from './authzen.ts';
export {
  DEFAULT_DENY,
  type Decision,
  EVALUATION_FAILED,
  type Obligations,
} from './decision.ts';
export { exampleRequest } from './example-request.ts';
export { type Explanation, explain, type PolicyVerdict } from './explain.ts';
export { formatLocation, type Location } from './location.ts';
export type { Policy, PolicyProblem } from './policy.ts';
export { loadPolicyDir, readPolicyDir } from './policy-dir.ts';
export type { PolicySource } from './policy-file.ts';
export {
  type LoadOptions,
  loadPolicySet,
  type PolicySet,
  SCHEMA_FILE,
} from './policy-set.ts';
export {
  type CaseResult,
  formatTestReport,
  type PolicyTestCase,
  parsePolicyTests,
  runPolicyTests,
  type TestReport,
} from './policy-test.ts';
export {
  ACTIONS,
  type AgentCardFacts,
  APPROVAL_STATES,
  CLASSIFICATIONS,
  type ContextInput,
  type DecisionRequest,
  decisionRequestSchema,
  ENVIRONMENTS,
  type PrincipalInput,
  type ResourceInput,
} from './request.ts';
export {
  bundledSchemaText,
  loadSchema,
  mandateSchema,
  type Schema,
} from './schema.ts';
export { STARTER_DIR, starterSources } from './starter.ts';
