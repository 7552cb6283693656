/** Seeded policies of every scope and condition shape Cedar and the schema allow. */
import type { PolicySource } from '../policy-file.ts';
import { SYNTHETIC_ACTIONS } from '../request.ts';
import { chunk, DENSE, int, M, type Pools, pick, type Random, seeded, World } from './world.ts';

/** Conditions that validate for every action and resource type. */
export const CONDITIONS: ReadonlyArray<(r: Random, w: World) => string> = [
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
  const one = () => M('Action', pick(r, SYNTHETIC_ACTIONS));
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
  if (roll < 0.88)
    return `resource is Mandate::${pick(r, ['Tool', 'Server', 'Endpoint', 'Connection', 'Agent'])}`;
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
  const conditions = Array.from(
    { length: int(r, 3) + (forbid ? 1 : 0) },
    () => `(${pick(r, CONDITIONS.slice(0, r() < 0.05 ? undefined : -1))(r, w)})`,
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
