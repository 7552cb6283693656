/**
 * Seeded synthetic policy sets and requests over Mandate's schema, for the slicing differential test
 * and the bench. Same seed, same output.
 */
import type { PolicySource } from './policy-file.ts';
import { ACTIONS, type DecisionRequest } from './request.ts';

export type Random = () => number;

/** mulberry32: small, fast, good enough to spread test cases. */
export function seeded(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const int = (r: Random, n: number) => Math.floor(r() * n);
const pick = <T>(r: Random, list: readonly T[]): T => list[int(r, list.length)] as T;
const some = <T>(r: Random, list: readonly T[], p: number) => list.filter(() => r() < p);

/** How many of each entity the world has; smaller pools make policies and requests meet more often. */
export interface Pools {
  readonly servers: number;
  readonly toolsPerServer: number;
  readonly connections: number;
  readonly endpointsPerConnection: number;
  readonly roles: number;
  readonly agents: number;
  readonly people: number;
}

export const DENSE: Pools = {
  servers: 3,
  toolsPerServer: 3,
  connections: 2,
  endpointsPerConnection: 3,
  roles: 4,
  agents: 8,
  people: 3,
};

export const WIDE: Pools = {
  servers: 6,
  toolsPerServer: 4,
  connections: 4,
  endpointsPerConnection: 4,
  roles: 8,
  agents: 16,
  people: 5,
};

const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

type Card = DecisionRequest['principal']['agent'];

class World {
  readonly servers: string[];
  readonly tools: string[];
  readonly connections: string[];
  readonly endpoints: string[];
  readonly roles: string[];
  readonly agents: string[];
  readonly people: string[];

  constructor(pools: Pools) {
    this.servers = names('s', pools.servers);
    this.tools = this.servers.flatMap((s) => names(`${s}/t`, pools.toolsPerServer));
    this.connections = names('c', pools.connections);
    this.endpoints = this.connections.flatMap((c) => names(`${c}/e`, pools.endpointsPerConnection));
    this.roles = names('r', pools.roles);
    this.agents = names('a', pools.agents);
    this.people = names('p', pools.people);
  }

  #cards: Card[] | undefined;
  #principals = new Map<string, DecisionRequest['principal']>();

  /** One principal object per agent: what an enforcement point keeps for a mandate. */
  principal(agent: Card): DecisionRequest['principal'] {
    let principal = this.#principals.get(agent.id);
    if (principal === undefined) {
      principal = { instance: `i${this.agents.indexOf(agent.id) % 4}`, agent };
      this.#principals.set(agent.id, principal);
    }
    return principal;
  }

  /** One card per agent, the same in every request (as the registry would have it). */
  cards(): Card[] {
    this.#cards ??= this.agents.map((id, i) => card(seeded(i + 1), this, id));
    return this.#cards;
  }
}

const M = (type: string, id: string) => `Mandate::${type}::"${id}"`;

/** Conditions that validate for every action and resource type. */
const CONDITIONS: ReadonlyArray<(r: Random, w: World) => string> = [
  (r) => `context.risk < ${int(r, 100)}`,
  () => 'context has person',
  () => 'principal has owner && context has person && context.person == principal.owner',
  () => 'resource in principal.toolset',
  (r) => `context.scope.contains("sc${int(r, 4)}")`,
  () => 'context has budget && context.cost > context.budget.remaining',
  (r) => `context has budget && context.budget.percent < ${int(r, 50)} && context.cost > ${int(r, 200)}`,
  (r) => `context.environment == "${pick(r, ['dev', 'staging', 'prod'])}"`,
  () => 'principal.environment == context.environment',
  () => 'context.approval == "granted"',
  () => 'context has classification && context.classification == "restricted"',
  () => 'resource has highImpact && resource.highImpact',
  () => '(context.time.hour >= 22 || context.time.hour < 6)',
  (r) => `context.delegation.depth > ${int(r, 4)}`,
  (r) => `context.delegation.chain.contains("i${int(r, 4)}")`,
  (r, w) => `principal in ${M('Role', pick(r, w.roles))}`,
  (r, w) => `resource in ${M('Server', pick(r, w.servers))}`,
  () => 'context has task && context.task like "task-1*"',
  (r) => `if context has budget then context.budget.percent > ${int(r, 100)} else true`,
  () => 'context.scope.containsAny(["sc1", "sc2"])',
  () => 'resource is Mandate::Tool',
  () => 'context has trace',
  (r, w) => `principal.toolset == ${M('Toolset', pick(r, w.agents))}`,
  () => 'resource has environment && resource.environment == "prod"',
  () => 'action in Mandate::Action::"call"',
  (r, w) => `principal has owner && principal.owner == ${M('User', pick(r, w.people))}`,
  // Overflows (an evaluation error) whenever the call costs 2 units or more.
  () => 'context.cost * 4611686018427387904 > 0',
];

function principalScope(r: Random, w: World): string {
  const roll = r();
  if (roll < 0.4) return 'principal';
  if (roll < 0.6) return `principal in ${M('Role', pick(r, w.roles))}`;
  if (roll < 0.75) return `principal in ${M('Agent', pick(r, w.agents))}`;
  if (roll < 0.85) return `principal == ${M('Instance', `i${int(r, 4)}`)}`;
  if (roll < 0.95) return 'principal is Mandate::Instance';
  return `principal is Mandate::Instance in ${M('Role', pick(r, w.roles))}`;
}

function actionScope(r: Random): string {
  const roll = r();
  const one = () => M('Action', pick(r, ACTIONS));
  if (roll < 0.25) return 'action';
  if (roll < 0.55) return `action == ${one()}`;
  if (roll < 0.8) return `action in [${[...new Set([one(), one()])].join(', ')}]`;
  return `action in ${M('Action', pick(r, ['mcp', 'call']))}`;
}

function resourceScope(r: Random, w: World): string {
  const roll = r();
  if (roll < 0.3) return 'resource';
  if (roll < 0.45) return `resource == ${M('Tool', pick(r, w.tools))}`;
  if (roll < 0.55) return `resource in ${M('Server', pick(r, w.servers))}`;
  if (roll < 0.62) return `resource == ${M('Endpoint', pick(r, w.endpoints))}`;
  if (roll < 0.68) return `resource in ${M('Connection', pick(r, w.connections))}`;
  if (roll < 0.72) return `resource == ${M('Server', pick(r, w.servers))}`;
  if (roll < 0.76) return `resource in ${M('Toolset', pick(r, w.agents))}`;
  if (roll < 0.88) return `resource is Mandate::${pick(r, ['Tool', 'Server', 'Endpoint', 'Connection', 'Agent'])}`;
  if (roll < 0.94) return `resource is Mandate::Tool in ${M('Server', pick(r, w.servers))}`;
  return `resource in ${M('Role', pick(r, w.roles))}`;
}

function policy(r: Random, w: World, n: number, scope: () => string): string {
  const forbid = r() < 0.25;
  const annotations = [
    r() < 0.5 ? `@id("gen-${n}")` : '',
    forbid && r() < 0.3 ? '@approval("required")' : '',
    r() < 0.5 ? `@reason("generated ${n}")` : '',
  ].filter(Boolean);
  const conditions = Array.from({ length: int(r, 3) + (forbid ? 1 : 0) }, () =>
    `(${pick(r, CONDITIONS.slice(0, r() < 0.05 ? undefined : -1))(r, w)})`,
  );
  const when = forbid || r() < 0.8;
  const clause = conditions.length === 0 ? '' : ` ${when ? 'when' : 'unless'} { ${conditions.join(' && ')} }`;
  return `${annotations.join('\n')}\n${forbid ? 'forbid' : 'permit'} (${scope()})${clause};\n`;
}

/** Policies with every kind of scope and condition, over `pools`, split into files of 25. */
export function syntheticPolicies(count: number, seed: number, pools: Pools = DENSE): PolicySource[] {
  const r = seeded(seed);
  const w = new World(pools);
  const scope = () => `${principalScope(r, w)}, ${actionScope(r)}, ${resourceScope(r, w)}`;
  const texts = Array.from({ length: count }, (_, n) => policy(r, w, n, scope));
  return chunk(texts);
}

const chunk = (texts: readonly string[]): PolicySource[] =>
  Array.from({ length: Math.ceil(texts.length / 25) }, (_, i) => ({
    file: `generated-${String(i).padStart(3, '0')}.cedar`,
    text: texts.slice(i * 25, i * 25 + 25).join('\n'),
  }));

/** Requests over `pools` with every action, resource type and context shape. */
export function syntheticRequests(count: number, seed: number, pools: Pools = DENSE): DecisionRequest[] {
  const r = seeded(seed);
  const w = new World(pools);
  return Array.from({ length: count }, () => syntheticRequest(r, w));
}

function card(r: Random, w: World, id: string): Card {
  const entries = [...w.servers, ...w.tools, ...w.servers.map((s) => `${s}/*`), ...w.connections, ...w.endpoints];
  return {
    id,
    roles: some(r, w.roles, 0.4),
    owner: r() < 0.8 ? pick(r, w.people) : null,
    environment: pick(r, ['dev', 'staging', 'prod'] as const),
    toolset: some(r, entries, 0.25),
  };
}

function resourceFor(r: Random, w: World, action: (typeof ACTIONS)[number]): DecisionRequest['resource'] {
  const priced = { cost: int(r, 300), ...(r() < 0.7 ? { classification: pick(r, ['public', 'restricted'] as const) } : {}) };
  const [server = '', tool = ''] = pick(r, w.tools).split('/');
  const [connection = '', endpoint = ''] = pick(r, w.endpoints).split('/');
  switch (action) {
    case 'tools/call':
      return { type: 'tool', server, name: tool, highImpact: r() < 0.3, ...priced };
    case 'http:request':
      return { type: 'endpoint', connection, name: endpoint, highImpact: r() < 0.3, ...priced };
    case 'delegate':
      return { type: 'agent', agent: pick(r, w.cards()), ...priced };
    case 'token:exchange':
      return r() < 0.5 ? { type: 'server', server, ...priced } : { type: 'connection', connection, ...priced };
    default:
      return { type: 'server', server, ...priced };
  }
}

function syntheticRequest(r: Random, w: World): DecisionRequest {
  const action = pick(r, ACTIONS);
  const instances = names('i', 4);
  return {
    principal: w.principal(pick(r, w.cards())),
    person: r() < 0.7 ? pick(r, w.people) : null,
    action,
    resource: resourceFor(r, w, action),
    context: {
      scope: some(r, names('sc', 4), 0.4),
      ...(r() < 0.5 ? { task: `task-${int(r, 30)}` } : {}),
      delegation: { depth: int(r, 5), chain: some(r, instances, 0.4) },
      environment: pick(r, ['dev', 'staging', 'prod'] as const),
      ...(r() < 0.7 ? { budget: { remaining: int(r, 1000) - 100, percent: r() * 100 } } : {}),
      risk: int(r, 101),
      approval: pick(r, ['none', 'pending', 'granted', 'granted', 'denied'] as const),
      time: new Date(Date.UTC(2026, 0, 1 + int(r, 7), int(r, 24), int(r, 60))).toISOString(),
      ...(r() < 0.5 ? { trace: `trace-${int(r, 1000)}` } : {}),
    },
  };
}

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
    () => `permit (principal in ${who()}, action == Mandate::Action::"tools/call", resource == ${M('Tool', pick(r, w.tools))})`,
    () => `permit (principal in ${who()}, action in Mandate::Action::"mcp", resource in ${M('Server', pick(r, w.servers))})`,
    () => `forbid (principal, action == Mandate::Action::"tools/call", resource == ${M('Tool', pick(r, w.tools))})`,
    () => `permit (principal in ${who()}, action == Mandate::Action::"http:request", resource == ${M('Endpoint', pick(r, w.endpoints))})`,
    () => `permit (principal in ${who()}, action == Mandate::Action::"http:request", resource in ${M('Connection', pick(r, w.connections))})`,
    () => `@approval("required")\nforbid (principal in ${who()}, action, resource == ${M('Tool', pick(r, w.tools))})`,
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
