import { z } from 'zod';
import { environments } from '../registry/agent-card.ts';

type Environment = (typeof environments)[number];

/**
 * Operator roles. `admin` does everything; `security` runs policies, servers, connections,
 * secrets, keys and governance; `approver` decides held calls; `auditor` reads, queries, exports
 * and verifies the trail and changes nothing; `owner` sees and suspends or resumes the agents
 * whose card names them as owner.
 *
 * A grant is a role, optionally scoped to one environment (`approver:prod`). A scoped grant acts
 * only on what belongs to its environment (agents, and approvals of their calls); configuration
 * shared by every environment (policies, servers, secrets, keys, the trail) needs an unscoped one.
 */
export const operatorRoles = ['admin', 'security', 'approver', 'auditor', 'owner'] as const;
export type OperatorRole = (typeof operatorRoles)[number];

export interface RoleGrant {
  role: OperatorRole;
  environment?: Environment;
}

const GRANT = new RegExp(`^(${operatorRoles.join('|')})(?::(${environments.join('|')}))?$`);

/** `approver:prod` → `{ role: 'approver', environment: 'prod' }`; undefined when malformed. */
export function parseGrant(text: string): RoleGrant | undefined {
  const match = GRANT.exec(text);
  if (!match) return undefined;
  return { role: match[1] as OperatorRole, ...(match[2] ? { environment: match[2] as Environment } : {}) };
}

export const formatGrant = (grant: RoleGrant) => (grant.environment ? `${grant.role}:${grant.environment}` : grant.role);

export const roleGrantSchema = z.string().transform((value, ctx) => {
  const grant = parseGrant(value);
  if (!grant) {
    ctx.addIssue({ code: 'custom', message: `must be a role (${operatorRoles.join(', ')}), optionally :${environments.join('|')}` });
    return z.NEVER;
  }
  return grant;
});

/** Grants as stored: unknown ones (a role a later version removed) are dropped, never widened. */
export const grantsOf = (stored: readonly string[]): RoleGrant[] => stored.map(parseGrant).filter((g): g is RoleGrant => g !== undefined);

/**
 * Whether holding `held` lets one grant `wanted` (nobody grants what they do not hold):
 *
 *   held role          | held scope | may grant
 *   admin              | none       | anything
 *   admin              | env        | any role scoped to env
 *   r (not admin)      | none       | r, unscoped or scoped to any env
 *   r (not admin)      | env        | r scoped to env
 */
export const covers = (held: RoleGrant, wanted: RoleGrant): boolean =>
  (held.role === 'admin' || held.role === wanted.role) && (held.environment === undefined || held.environment === wanted.environment);

/** The first of `wanted` that no grant of `held` covers, if any. */
export const notCovered = (held: readonly RoleGrant[], wanted: readonly RoleGrant[]): RoleGrant | undefined =>
  wanted.find((w) => !held.some((h) => covers(h, w)));

/** What an agent-bound request is about: the agent's environment and owner. */
export interface AgentTarget {
  environment: string;
  owner: string | null;
}

/**
 * Whether `grant` lets its holder through a route open to `roles`, for `target` when the route
 * acts on one agent (or an approval of its call), else for configuration shared by every
 * environment. `identities` are the names the holder goes by (subject and email), matched against
 * the card's owner.
 */
export function grantAllows(grant: RoleGrant, roles: readonly OperatorRole[], target: AgentTarget | 'shared', identities: readonly string[]): boolean {
  if (!roles.includes(grant.role)) return false;
  if (target === 'shared') return grant.environment === undefined && grant.role !== 'owner';
  if (grant.environment !== undefined && grant.environment !== target.environment) return false;
  return grant.role !== 'owner' || (target.owner !== null && identities.some((id) => id.toLowerCase() === target.owner!.toLowerCase()));
}

export const allows = (grants: readonly RoleGrant[], roles: readonly OperatorRole[], target: AgentTarget | 'shared', identities: readonly string[]) =>
  grants.some((grant) => grantAllows(grant, roles, target, identities));
