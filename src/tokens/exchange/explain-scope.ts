/**
 * Why a mandate's scope is what it is: what was asked, what the agent card allows, what the
 * person's entitlements allow, and item by item which of request, card and person limited it.
 *
 * The resulting scope and the verdict come from the very checks token exchange runs
 * (`checkOnBehalfOf`, `personLimit`, `grantScope`, `limitedBy`), never from a second
 * implementation, so an explanation cannot contradict an exchange.
 */
import { isMandateError, MandateError } from '../../errors.ts';
import type { AgentCard } from '../../registry/agent-card.ts';
import type { Queryable } from '../../store/store.ts';
import { personLimit } from '../entitlements.ts';
import { agentSuspended } from '../verify-request.ts';
import { coveredBySet, formatScope, formatScopeItem, narrow, parseScope } from '../scope.ts';
import { checkOnBehalfOf, grantScope, limitedBy } from './grant.ts';
import type { Actor, Subject } from './parties.ts';

export interface ScopeItemExplanation {
  item: string;
  /** `granted` whole, `narrowed` to finer items, or `removed`. */
  outcome: 'granted' | 'narrowed' | 'removed';
  /** Which limit removed or narrowed it; `request` when the item is granted as asked. */
  limited_by: 'request' | 'card' | 'person';
  granted: string[];
}

export interface ScopeExplanation {
  agent: string;
  person: string;
  groups: string[];
  requested: string;
  card: string;
  /** The person's entitled items, or `null` when no entitlements are configured. */
  entitled: string | null;
  entitled_groups: string[];
  items: ScopeItemExplanation[];
  /** `granted`, or the error code the exchange refuses with. */
  verdict: 'granted' | string;
  /** The scope an exchange grants, or `null` when it is refused. */
  scope: string | null;
  limited_by?: 'request' | 'person';
  text: string;
}

export interface ScopeQuestion {
  agent: AgentCard;
  person: string;
  groups: string[];
  scope: string;
}

export async function explainScope(db: Queryable, question: ScopeQuestion): Promise<ScopeExplanation> {
  const { agent, person: sub, groups } = question;
  const requested = parseScope(question.scope);
  const toolset = parseScope(agent.toolset.join(' '));
  const person = await personLimit(db, groups);
  // Exchange reads only the card of the actor and the person's subject and groups here.
  const actor = { agent } as Actor;
  const subject: Subject = { kind: 'person', sub, exp: 0, dev: false, groups: [...groups] };
  const request = { scope: question.scope, subjectToken: '', subjectTokenType: '', actorToken: '', resources: [], task: undefined, records: undefined };

  const items = requested.map((asked): ScopeItemExplanation => {
    const item = formatScopeItem(asked);
    if (!coveredBySet(asked, toolset)) return { item, outcome: 'removed', limited_by: 'card', granted: [] };
    if (!person) return { item, outcome: 'granted', limited_by: 'request', granted: [item] };
    const kept = narrow([asked], person.items).map(formatScopeItem);
    if (kept.length === 0) return { item, outcome: 'removed', limited_by: 'person', granted: [] };
    if (kept.length === 1 && kept[0] === item) return { item, outcome: 'granted', limited_by: 'request', granted: kept };
    return { item, outcome: 'narrowed', limited_by: 'person', granted: kept };
  });

  let verdict = 'granted';
  let scope: string | null = null;
  let by: 'request' | 'person' | undefined;
  let refusal = '';
  try {
    // As `verifyActor` refuses the card of an agent that is not active.
    if (agent.status === 'suspended') throw agentSuspended(agent.id);
    if (agent.status !== 'active') throw new MandateError('ERR_ACTOR_REVOKED', `agent ${agent.id} is not active`);
    checkOnBehalfOf(actor, subject);
    const granted = grantScope(request, actor, subject, person);
    scope = formatScope(granted);
    if (person) by = limitedBy(request, granted);
  } catch (error) {
    if (!isMandateError(error)) throw error;
    verdict = error.code;
    refusal = error.message;
  }
  const explanation: Omit<ScopeExplanation, 'text'> = {
    agent: agent.id,
    person: sub,
    groups: [...groups],
    requested: formatScope(requested),
    card: formatScope(toolset),
    entitled: person ? formatScope(person.items) : null,
    entitled_groups: person?.entitledGroups ?? [],
    items,
    verdict,
    scope,
    ...(by ? { limited_by: by } : {}),
  };
  return { ...explanation, text: describe(explanation, refusal) };
}

function describe(e: Omit<ScopeExplanation, 'text'>, refusal: string): string {
  const lines = [
    `asked:     ${e.requested}`,
    `card:      ${e.card || '(empty toolset)'}  (agent ${e.agent})`,
    e.entitled === null
      ? 'person:    no entitlements configured: persons do not limit'
      : `person:    ${e.entitled || '(nothing)'}  (${e.person}; entitled groups: ${e.entitled_groups.join(', ') || 'none'})`,
    '',
  ];
  for (const i of e.items) {
    const what = i.outcome === 'granted' ? 'granted as asked' : i.outcome === 'narrowed' ? `narrowed by the person to ${i.granted.join(' ')}` : `removed by the ${i.limited_by}`;
    lines.push(`  ${i.item}: ${what}`);
  }
  lines.push('');
  lines.push(e.scope !== null ? `result:    ${e.scope}${e.limited_by ? `  (limited by the ${e.limited_by})` : ''}` : `refused:   ${e.verdict}: ${refusal}`);
  return lines.join('\n');
}

/** The agent named in a question must be registered: an unknown one is a 404, as elsewhere. */
export function unknownAgent(id: string): MandateError {
  return new MandateError('ERR_AGENT_NOT_FOUND', `no agent card ${id}`);
}
