import type { AgentCard } from '../registry/agent-card.ts';
import type { DecisionRequest, ResourceInput } from '../policy/request.ts';
import type { Principal } from '../tokens/verify-request.ts';

/** Card toolset in the policy's vocabulary: `tool:s/t` → `s/t`, `http:c:M:/p` → `c` (the connection), `a2a:p/m` → `a2a:p` (the peer). */
export function policyToolset(card: AgentCard): string[] {
  return [
    ...new Set(
      card.toolset.map((item) => {
        if (item.startsWith('tool:')) return item.slice(5);
        if (item.startsWith('a2a:')) return `a2a:${item.slice(4).split('/')[0]!}`;
        return item.slice(5).split(':')[0]!;
      }),
    ),
  ];
}

/**
 * One principal object per card object and instance: the authorizer validates a principal and
 * builds its entity once per object (by identity), and cards come from a cache, so calls of one
 * instance share it until its card changes.
 */
const principals = new WeakMap<AgentCard, Map<string, DecisionRequest['principal']>>();

function policyPrincipal(card: AgentCard, instance: string): DecisionRequest['principal'] {
  let byInstance = principals.get(card);
  if (!byInstance) principals.set(card, (byInstance = new Map()));
  let principal = byInstance.get(instance);
  if (!principal) {
    principal = Object.freeze({ instance, agent: Object.freeze({ id: card.id, roles: card.roles, owner: card.owner, environment: card.environment, toolset: policyToolset(card) }) });
    if (byInstance.size >= 1000) byInstance.clear();
    byInstance.set(instance, principal);
  }
  return principal;
}

/**
 * The policy request for one call, built only from verified, structured facts: the mandate, the
 * agent card, the resource's metadata and the runtime signals (DESIGN §5: deterministic).
 */
export function decisionRequest(input: {
  principal: Principal;
  card: AgentCard;
  action: DecisionRequest['action'];
  resource: ResourceInput;
  budgetRemaining: number | null;
  risk: number;
  approval: 'none' | 'pending' | 'granted' | 'denied';
  traceId: string | null;
  now: Date;
  /** The call's arguments, as the enforcement point supplied them (`context.args`). */
  args?: Readonly<Record<string, unknown>> | undefined;
}): DecisionRequest {
  const { principal, card } = input;
  const claims = principal.claims;
  const remaining = input.budgetRemaining;
  return {
    principal: policyPrincipal(card, principal.instanceId),
    person: principal.person,
    ...(principal.person !== null && principal.groups.length > 0 ? { personGroups: principal.groups } : {}),
    action: input.action,
    resource: input.resource,
    context: {
      scope: claims.scope.split(' ').filter(Boolean),
      task: claims.task?.id ?? null,
      delegation: { depth: claims.depth, chain: principal.delegation },
      environment: card.environment,
      budget:
        remaining === null
          ? null
          : { remaining: Math.floor(remaining), percent: claims.budget > 0 ? Math.max(0, Math.min(100, (remaining / claims.budget) * 100)) : 0 },
      risk: Math.max(0, Math.min(100, Math.round(input.risk))),
      approval: input.approval,
      time: input.now.toISOString(),
      trace: input.traceId,
      ...(input.args ? { args: input.args as Record<string, unknown> } : {}),
    },
  };
}
