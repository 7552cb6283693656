/**
 * A seeded synthetic world over Mandate's schema (servers, tools, connections, endpoints, roles,
 * agent cards, people) and requests in it, for the slicing differential test and the bench. Same
 * seed, same output.
 */
import type { PolicySource } from '../policy-file.ts';
import { type DecisionRequest, SYNTHETIC_ACTIONS } from '../request.ts';

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

export const int = (r: Random, n: number) => Math.floor(r() * n);
export const pick = <T>(r: Random, list: readonly T[]): T => list[int(r, list.length)] as T;
export const some = <T>(r: Random, list: readonly T[], p: number) => list.filter(() => r() < p);

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

export const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

type Card = DecisionRequest['principal']['agent'];

export class World {
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

/** A Cedar entity reference in policy text. */
export const M = (type: string, id: string) => `Mandate::${type}::"${id}"`;

/** Policy texts as files of 25. */
export const chunk = (texts: readonly string[]): PolicySource[] =>
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
  const entries = [
    ...w.servers,
    ...w.tools,
    ...w.servers.map((s) => `${s}/*`),
    ...w.connections,
    ...w.endpoints,
  ];
  return {
    id,
    roles: some(r, w.roles, 0.4),
    owner: r() < 0.8 ? pick(r, w.people) : null,
    environment: pick(r, ['dev', 'staging', 'prod'] as const),
    toolset: some(r, entries, 0.25),
  };
}

export function resourceFor(
  r: Random,
  w: World,
  action: DecisionRequest['action'],
): DecisionRequest['resource'] {
  const priced = {
    cost: int(r, 300),
    ...(r() < 0.7 ? { classification: pick(r, ['public', 'restricted'] as const) } : {}),
  };
  const [server = '', tool = ''] = pick(r, w.tools).split('/');
  const [connection = '', endpoint = ''] = pick(r, w.endpoints).split('/');
  switch (action) {
    case 'tools/call':
      return {
        type: 'tool',
        server,
        name: tool,
        highImpact: r() < 0.3,
        ...priced,
      };
    case 'http:request':
      return {
        type: 'endpoint',
        connection,
        name: endpoint,
        highImpact: r() < 0.3,
        ...priced,
      };
    case 'delegate':
      return { type: 'agent', agent: pick(r, w.cards()), ...priced };
    case 'token:exchange':
      return r() < 0.5
        ? { type: 'server', server, ...priced }
        : { type: 'connection', connection, ...priced };
    default:
      if (action.startsWith('a2a:')) return { type: 'peer', peer: server, highImpact: r() < 0.3, ...priced };
      return { type: 'server', server, ...priced };
  }
}

export function syntheticRequest(r: Random, w: World): DecisionRequest {
  const action = pick(r, SYNTHETIC_ACTIONS);
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
