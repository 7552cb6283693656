import { SYSTEM_CHAIN } from '../audit/writer.ts';
import { MandateError } from '../errors.ts';
import { agentsOwnedBy, changeAgentOwner, findAgent } from '../registry/agents.ts';
import { findOperator } from '../store/operators.ts';
import { agentFlagsRepository } from '../store/repositories/agent-flags.ts';
import { type PersonRow, personsRepository } from '../store/repositories/persons.ts';
import type { Queryable } from '../store/store.ts';
import type { LifecycleDeps } from './deps.ts';
import { suspendForLifecycle } from './suspend.ts';

/**
 * Owners and their lifecycle. An owner is a person Mandate knows: a person provisioned over SCIM
 * by the enterprise identity provider, or an operator. When one leaves (SCIM `active: false` or
 * DELETE, or `POST /v1/persons/{id}/offboard`), every agent they own is flagged orphaned, then
 * handed to their manager or the configured sponsor; an agent nobody takes is suspended once the
 * grace period ends. Each step is an event in the `system` chain, and the new owner hears of it
 * through the notification sinks that subscribe to `lifecycle.owner_reassigned`.
 *
 *   event                       when
 *   lifecycle.owner_left        a person was offboarded (resource: the person)
 *   lifecycle.orphaned          one of their agents lost its owner (data.previous_owner, data.due_at)
 *   lifecycle.owner_reassigned  the agent was handed over (data.owner, data.previous_owner)
 *   lifecycle.suspended         nobody took it within the grace period (reasons.message)
 */
export interface OffboardPolicy {
  reassign: 'manager' | 'sponsor' | 'none';
  sponsor?: string | undefined;
  graceSeconds: number;
}

/** Who leaves: the names agent cards may give them as owner, and their manager's SCIM id. */
export interface Leaver {
  kind: 'person' | 'operator';
  /** SCIM id, or operator subject. */
  id: string;
  label: string;
  names: string[];
  manager: string | null;
}

export interface Handover {
  agent: string;
  outcome: 'reassigned' | 'orphaned' | 'suspended';
  owner: string | null;
  previous_owner: string | null;
  due_at: string | null;
}

const namesOf = (...names: Array<string | null | undefined>) => [...new Set(names.filter((n): n is string => !!n))];

export const leaverOfPerson = (row: PersonRow): Leaver => ({ kind: 'person', id: row.id, label: row.user_name, names: namesOf(row.user_name, row.email), manager: row.manager });

/** The person (SCIM id, userName or email) or operator (subject or email) this key names. */
export async function findLeaver(db: Queryable, key: string): Promise<Leaver | undefined> {
  const persons = personsRepository(db);
  const person = (await persons.find(key)) ?? (await persons.findByOwner(key));
  if (person) return leaverOfPerson(person);
  const operator = await findOperator(db, key);
  return operator && { kind: 'operator', id: operator.subject, label: operator.subject, names: namesOf(operator.subject, operator.email), manager: null };
}

/**
 * Whether offboarding this leaver has work left: agents they still own that no offboarding has
 * flagged yet (an earlier run failed half-way, or a card naming them was applied since).
 */
export async function hasUnflaggedAgents(db: Queryable, leaver: Leaver): Promise<boolean> {
  const flagged = new Set((await agentFlagsRepository(db).list({ flag: 'orphaned' })).map((f) => f.agent_id));
  return (await agentsOwnedBy(db, leaver.names)).some((agent) => !flagged.has(agent.id));
}

/** The name a person goes by as an owner on agent cards: their email, else their userName. */
const ownerName = (row: PersonRow) => row.email ?? row.user_name;

/** A person still here, by SCIM id, userName or email; or an operator. */
async function presentOwner(db: Queryable, key: string): Promise<string | undefined> {
  const persons = personsRepository(db);
  const person = (await persons.find(key)) ?? (await persons.findByOwner(key));
  if (person) return person.active === 1 ? ownerName(person) : undefined;
  const operator = await findOperator(db, key);
  return operator ? operator.email : undefined;
}

async function successorOf(db: Queryable, leaver: Leaver, policy: OffboardPolicy, named: string | undefined): Promise<{ owner: string; why: string } | undefined> {
  if (named !== undefined) {
    const owner = await presentOwner(db, named);
    if (!owner) throw new MandateError('ERR_PERSON_NOT_FOUND', `no active person or operator is named ${named}`);
    return { owner, why: 'named by the admin' };
  }
  if (policy.reassign === 'manager' && leaver.manager) {
    const owner = await presentOwner(db, leaver.manager);
    if (owner) return { owner, why: 'their manager' };
  }
  if (policy.reassign !== 'none' && policy.sponsor) {
    // A sponsor Mandate does not know as a person is taken as named; one who left takes nothing.
    const known = await personsRepository(db).findByOwner(policy.sponsor);
    const owner = known ? await presentOwner(db, policy.sponsor) : policy.sponsor;
    if (owner) return { owner, why: 'the sponsor' };
  }
  return undefined;
}

const reasonFor = (previous: string) => `owner ${previous} left`;
const previousIn = (reason: string) => /^owner (.+) left$/.exec(reason)?.[1];

/**
 * Offboard a leaver: flag their agents orphaned, hand them over or set their suspension due.
 * `markLeft` records the departure once the successor is known to be valid (a refused request
 * changes nothing).
 */
export async function offboard(
  deps: LifecycleDeps,
  leaver: Leaver,
  policy: OffboardPolicy,
  by: string,
  options: { named?: string | undefined; markLeft?: () => Promise<unknown> } = {},
): Promise<{ person: string; agents: Handover[] }> {
  const db = deps.store.db;
  const found = await successorOf(db, leaver, policy, options.named);
  const self = found !== undefined && leaver.names.some((n) => n.toLowerCase() === found.owner.toLowerCase());
  if (self && options.named !== undefined) throw new MandateError('ERR_PERSON_NOT_FOUND', `${leaver.label} cannot take over their own agents`);
  // The sponsor leaving: nobody takes their agents but the grace period.
  const successor = self ? undefined : found;
  await options.markLeft?.();
  const now = deps.now();
  await deps.audit.append({
    chain: SYSTEM_CHAIN,
    type: 'lifecycle.owner_left',
    actor: { instance: null, agent: null, person: null, delegation: [] },
    action: 'person:offboard',
    resource: leaver.label,
    status: 'success',
    reasons: { message: `${leaver.kind} ${leaver.label} offboarded by ${by}` },
  });
  const flags = agentFlagsRepository(db);
  const handovers: Handover[] = [];
  for (const agent of await agentsOwnedBy(db, leaver.names)) {
    const previous = agent.owner!;
    const dueAt = successor ? null : new Date(now.getTime() + policy.graceSeconds * 1000).toISOString();
    // Flagged by an earlier offboarding (an IdP retrying, an admin naming a successor later): no second event.
    const fresh = await flags.raise({ agent_id: agent.id, flag: 'orphaned', since: now.toISOString(), reason: reasonFor(previous), due_at: dueAt });
    if (fresh) await deps.audit.append({
      chain: SYSTEM_CHAIN,
      type: 'lifecycle.orphaned',
      actor: { instance: null, agent: agent.id, person: null, delegation: [] },
      action: 'agent:orphan',
      resource: agent.id,
      status: 'success',
      data: { previous_owner: previous, ...(dueAt ? { due_at: dueAt } : {}) },
      reasons: { message: `${reasonFor(previous)}${dueAt ? `; suspended at ${dueAt} unless someone takes it over` : ''}` },
    });
    if (successor && (await changeAgentOwner(db, agent.id, previous, successor.owner, now))) {
      await flags.lower(agent.id, 'orphaned');
      await deps.audit.append({
        chain: SYSTEM_CHAIN,
        type: 'lifecycle.owner_reassigned',
        actor: { instance: null, agent: agent.id, person: null, delegation: [] },
        action: 'agent:reassign',
        resource: agent.id,
        status: 'success',
        data: { owner: successor.owner, previous_owner: previous },
        reasons: { message: `${reasonFor(previous)}; agent ${agent.id} now belongs to ${successor.owner} (${successor.why})` },
      });
      handovers.push({ agent: agent.id, outcome: 'reassigned', owner: successor.owner, previous_owner: previous, due_at: null });
    } else {
      const flagged = fresh ? dueAt : ((await flags.list({ agentId: agent.id, flag: 'orphaned' }))[0]?.due_at ?? null);
      handovers.push({ agent: agent.id, outcome: 'orphaned', owner: previous, previous_owner: previous, due_at: flagged });
    }
  }
  // With no grace period the suspension is due at once.
  const suspended = new Set(await suspendDueOrphans(deps));
  for (const h of handovers) if (suspended.has(h.agent)) h.outcome = 'suspended';
  return { person: leaver.label, agents: handovers };
}

/**
 * Suspend the orphans whose grace period ended. One that got a new owner meanwhile (someone
 * applied its card with another owner) is only unflagged. Each due flag is settled with a
 * compare-and-set, so of several replicas exactly one acts on it.
 */
export async function suspendDueOrphans(deps: LifecycleDeps, dryRun = false): Promise<string[]> {
  const flags = agentFlagsRepository(deps.store.db);
  const suspended: string[] = [];
  for (const flag of await flags.due('orphaned', deps.now().toISOString())) {
    const agent = await findAgent(deps.store.db, flag.agent_id);
    const previous = previousIn(flag.reason);
    const tookOver = agent?.owner && previous && agent.owner.toLowerCase() !== previous.toLowerCase();
    if (dryRun) {
      if (!tookOver && agent?.status === 'active') suspended.push(flag.agent_id);
      continue;
    }
    if (!(await flags.settle(flag.agent_id, 'orphaned', flag.due_at!))) continue;
    if (tookOver) {
      await flags.lower(flag.agent_id, 'orphaned');
      continue;
    }
    if (await suspendForLifecycle(deps, flag.agent_id, `${flag.reason} and nobody took the agent over within the grace period`)) suspended.push(flag.agent_id);
  }
  return suspended;
}
