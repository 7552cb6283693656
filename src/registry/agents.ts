import { MandateError, refusal } from '../errors.ts';
import type { AgentsTable } from '../store/schema.ts';
import { agentsRepository } from '../store/repositories/agents.ts';
import type { Queryable, Store } from '../store/store.ts';
import { parseOrThrow } from '../validation.ts';
import {
  type AgentCard,
  type AgentCardSpec,
  type AgentStatus,
  agentCardSpecSchema,
  agentStatuses,
  cardFlags,
  specHash,
} from './agent-card.ts';

/** Validate a card; a prod agent must name its owner (DESIGN §1.1: never silently accepted). */
export function parseAgentCard(input: unknown, pathPrefix = ''): AgentCardSpec {
  const spec = parseOrThrow(agentCardSpecSchema, input, 'agent card', pathPrefix);
  if (spec.environment === 'prod' && !spec.owner) {
    const path = pathPrefix ? `${pathPrefix}.owner` : 'owner';
    throw new MandateError(
      'ERR_OWNER_REQUIRED',
      `agent ${spec.id} is in prod and has no owner; set owner to a person`,
      {
        details: [{ path, message: 'required for environment prod' }],
      },
    );
  }
  return spec;
}

const json = (v: unknown) => JSON.stringify(v);

function toRow(spec: AgentCardSpec): Omit<AgentsTable, 'status' | 'created_at' | 'updated_at'> {
  return {
    ...spec,
    code_hashes: json(spec.code_hashes),
    config_hashes: json(spec.config_hashes),
    toolset: json(spec.toolset),
    roles: json(spec.roles),
    may_delegate_to: json(spec.may_delegate_to),
    spec_hash: specHash(spec),
  };
}

export function fromRow(row: AgentsTable): AgentCard {
  const spec: AgentCardSpec = {
    id: row.id,
    name: row.name,
    owner: row.owner,
    purpose: row.purpose,
    environment: row.environment as AgentCardSpec['environment'],
    model: row.model,
    version: row.version,
    code_hashes: JSON.parse(row.code_hashes),
    config_hashes: JSON.parse(row.config_hashes),
    toolset: JSON.parse(row.toolset),
    roles: JSON.parse(row.roles),
    may_delegate_to: JSON.parse(row.may_delegate_to),
    on_behalf_of: row.on_behalf_of as AgentCardSpec['on_behalf_of'],
    max_token_lifetime: Number(row.max_token_lifetime),
    default_budget: Number(row.default_budget),
  };
  return {
    ...spec,
    status: row.status as AgentStatus,
    created_at: row.created_at,
    updated_at: row.updated_at,
    flags: cardFlags(spec),
  };
}

export async function findAgent(db: Queryable, id: string): Promise<AgentCard | undefined> {
  const row = await agentsRepository(db).find(id);
  return row ? fromRow(row) : undefined;
}

export async function getAgent(db: Queryable, id: string): Promise<AgentCard> {
  const agent = await findAgent(db, id);
  if (!agent) throw refusal('ERR_AGENT_NOT_FOUND', `agent ${id} not found`);
  return agent;
}

export interface AgentFilter {
  status?: AgentStatus | undefined;
  owner?: string | undefined;
  environment?: string | undefined;
}

export async function listAgents(db: Queryable, filter: AgentFilter = {}): Promise<AgentCard[]> {
  return (await agentsRepository(db).list(filter)).map(fromRow);
}

export async function registerAgent(db: Queryable, spec: AgentCardSpec, now: Date, status: 'active' | 'draft' = 'active'): Promise<AgentCard> {
  if (await findAgent(db, spec.id)) throw refusal('ERR_AGENT_EXISTS', `agent ${spec.id} already exists`);
  const at = now.toISOString();
  await agentsRepository(db).insert({ ...toRow(spec), status, created_at: at, updated_at: at });
  return getAgent(db, spec.id);
}

export type ApplyOutcome = 'created' | 'updated' | 'unchanged';

/**
 * Declarative upsert for GitOps: every card is created or brought to the given spec, in one
 * transaction (all or nothing). Status is lifecycle, not spec: apply never resumes or retires.
 */
export async function applyAgents(
  store: Store,
  specs: AgentCardSpec[],
  now: Date,
): Promise<Array<{ id: string; outcome: ApplyOutcome }>> {
  const seen = new Set<string>();
  for (const spec of specs) {
    if (seen.has(spec.id))
      throw refusal('ERR_AGENT_DUPLICATE', `agent ${spec.id} appears twice in the input`);
    seen.add(spec.id);
  }
  return store.transaction(async (trx) => {
    const agents = agentsRepository(trx);
    const results: Array<{ id: string; outcome: ApplyOutcome }> = [];
    for (const spec of specs) {
      const current = await agents.find(spec.id);
      const row = toRow(spec);
      if (!current) {
        const at = now.toISOString();
        await agents.insert({ ...row, status: 'active', created_at: at, updated_at: at });
        results.push({ id: spec.id, outcome: 'created' });
      } else if (current.status === 'retired') {
        throw refusal('ERR_AGENT_RETIRED', `agent ${spec.id} is retired; its id cannot be reused`);
      } else if (current.spec_hash === row.spec_hash) {
        results.push({ id: spec.id, outcome: 'unchanged' });
      } else {
        const { id: _id, ...changes } = row;
        await agents.update(spec.id, { ...changes, updated_at: now.toISOString() });
        results.push({ id: spec.id, outcome: 'updated' });
      }
    }
    return results;
  });
}

export const lifecycleActions = {
  suspend: { from: ['active'], to: 'suspended' },
  resume: { from: ['suspended', 'draft'], to: 'active' },
  retire: { from: ['active', 'suspended', 'draft'], to: 'retired' },
} as const satisfies Record<string, { from: readonly AgentStatus[]; to: AgentStatus }>;

export type LifecycleAction = keyof typeof lifecycleActions;

export async function changeAgentStatus(
  db: Queryable,
  id: string,
  action: LifecycleAction,
  now: Date,
): Promise<AgentCard> {
  const agent = await getAgent(db, id);
  const rule = lifecycleActions[action];
  if (!(rule.from as readonly string[]).includes(agent.status)) {
    throw refusal('ERR_AGENT_STATE', `cannot ${action} agent ${id}: it is ${agent.status}`);
  }
  await agentsRepository(db).changeStatus(id, agent.status, rule.to, now.toISOString());
  return getAgent(db, id);
}

/**
 * Hand an agent to a new owner (its previous owner left). Compare-and-set on the owner: false when
 * someone changed it meanwhile. A later GitOps apply of the old card brings the old owner back.
 */
export async function changeAgentOwner(db: Queryable, id: string, from: string | null, to: string, now: Date): Promise<boolean> {
  const agent = await getAgent(db, id);
  const { status: _s, created_at: _c, updated_at: _u, flags: _f, ...spec } = agent;
  return agentsRepository(db).changeOwner(id, from, to, specHash({ ...spec, owner: to }), now.toISOString());
}

/** Cards (not retired) whose owner is one of these names, compared case-insensitively. */
export async function agentsOwnedBy(db: Queryable, owners: readonly string[]): Promise<AgentCard[]> {
  return (await agentsRepository(db).ownedBy(owners)).map(fromRow);
}

export { agentStatuses };
