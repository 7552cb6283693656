/** Seeded policy sets and requests shaped like a real deployment's, for the bench. */
import type { PolicySource } from '../policy-file.ts';
import type { DecisionRequest } from '../request.ts';
import { CONDITIONS } from './policies.ts';
import { chunk, int, M, type Pools, pick, resourceFor, seeded, syntheticRequest, World } from './world.ts';

/**
 * A policy set shaped like a real deployment's: a handful of organisation-wide guardrails and role
 * baselines, then grants and restrictions each about one agent or role and one tool, server,
 * endpoint or connection. The world grows with the set.
 */
export function deploymentPools(count: number): Pools {
  return {
    servers: Math.max(4, Math.ceil(count / 25)),
    toolsPerServer: 8,
    connections: Math.max(2, Math.ceil(count / 50)),
    endpointsPerConnection: 6,
    roles: 8,
    agents: Math.max(8, Math.ceil(count / 10)),
    people: 20,
  };
}

const GUARDRAILS = [
  'forbid (principal, action, resource) when { context.risk >= 70 };',
  'forbid (principal, action, resource) when { context.environment == "prod" } unless { context has person };',
  'forbid (principal, action in Mandate::Action::"call", resource) when { context has budget && context.cost > context.budget.remaining };',
  '@approval("required")\nforbid (principal, action in Mandate::Action::"call", resource) when { resource.highImpact };',
  'permit (principal in Mandate::Role::"r0", action in Mandate::Action::"mcp", resource) when { resource in principal.toolset };',
  'permit (principal in Mandate::Role::"r1", action == Mandate::Action::"http:request", resource) when { resource in principal.toolset };',
  'permit (principal, action == Mandate::Action::"token:exchange", resource) when { resource in principal.toolset };',
  'forbid (principal, action, resource) when { context.environment == "prod" } unless { principal has owner };',
];

export function deploymentPolicies(count: number, seed: number): PolicySource[] {
  const r = seeded(seed);
  const w = new World(deploymentPools(count));
  const condition = () => (r() < 0.5 ? '' : ` when { ${pick(r, CONDITIONS.slice(0, -1))(r, w)} }`);
  const who = () => (r() < 0.7 ? M('Agent', pick(r, w.agents)) : M('Role', pick(r, w.roles)));
  const targeted: ReadonlyArray<() => string> = [
    () =>
      `permit (principal in ${who()}, action == Mandate::Action::"tools/call", resource == ${M('Tool', pick(r, w.tools))})`,
    () =>
      `permit (principal in ${who()}, action in Mandate::Action::"mcp", resource in ${M('Server', pick(r, w.servers))})`,
    () =>
      `forbid (principal, action == Mandate::Action::"tools/call", resource == ${M('Tool', pick(r, w.tools))})`,
    () =>
      `permit (principal in ${who()}, action == Mandate::Action::"http:request", resource == ${M('Endpoint', pick(r, w.endpoints))})`,
    () =>
      `permit (principal in ${who()}, action == Mandate::Action::"http:request", resource in ${M('Connection', pick(r, w.connections))})`,
    () =>
      `@approval("required")\nforbid (principal in ${who()}, action, resource == ${M('Tool', pick(r, w.tools))})`,
  ];
  const texts = Array.from({ length: count }, (_, n) => {
    const guardrail = GUARDRAILS[n];
    if (guardrail !== undefined && n < count / 2) return guardrail;
    const head = pick(r, targeted)();
    return `${head}${head.includes('forbid') ? ` when { context.risk > ${int(r, 60)} }` : condition()};`;
  });
  return chunk(texts);
}

/** Tool calls and HTTP requests by the deployment's agents, mostly within their toolsets. */
export function deploymentRequests(count: number, seed: number, policies: number): DecisionRequest[] {
  const r = seeded(seed);
  const w = new World(deploymentPools(policies));
  return Array.from({ length: count }, () => {
    const request = syntheticRequest(r, w);
    const action = r() < 0.8 ? 'tools/call' : 'http:request';
    return { ...request, action, resource: resourceFor(r, w, action) };
  });
}
