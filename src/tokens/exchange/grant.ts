// RFC 8693 §2.2, RFC 8707 §2 — what a mandate may grant: never more than card, subject or parent
import { type ErrorCode, MandateError } from '../../errors.ts';
import { findAgent } from '../../registry/agents.ts';
import type { TokenContext } from '../context.ts';
import type { PersonLimit } from '../entitlements.ts';
import { formatScope, formatScopeItem, intersect, narrow, parseScope, type ScopeItem } from '../scope.ts';
import { DEFAULT_MANDATE_SECONDS } from '../../jose/token-types.ts';
import type { Actor, Subject } from './parties.ts';
import type { ExchangeRequest } from './request.ts';
import { narrowRecords, recordsOf, type RecordConstraints } from '../records.ts';

const fail = (code: ErrorCode, message: string) => new MandateError(code, message);

/** On-behalf-of mode of the card: `required` needs a person, `none` refuses one. */
export function checkOnBehalfOf(actor: Actor, subject: Subject): void {
  const person = subject.kind === 'person' || (subject.kind === 'mandate' && subject.parent.sub_kind === 'person');
  const mode = actor.agent.on_behalf_of;
  if (mode === 'required' && !person) {
    throw fail('ERR_GRANT_INVALID', `agent ${actor.agent.id} acts only on behalf of a person; give a person's token as subject_token`);
  }
  if (mode === 'none' && person) throw fail('ERR_GRANT_INVALID', `agent ${actor.agent.id} does not act on behalf of persons`);
}

/**
 * The development issuer signs any subject an admin names: fine for a demo, never proof of a
 * person in production. Its tokens act for `prod` agents only where the deployment says so
 * (`MANDATE_DEV_ISSUER_PROD`).
 */
export function checkDevIssuer(ctx: TokenContext, actor: Actor, subject: Subject): void {
  if (subject.kind !== 'person' || !subject.dev || ctx.devIssuerProd) return;
  if (actor.agent.environment === 'prod') {
    throw fail('ERR_DEV_ISSUER_PROD', `agent ${actor.agent.id} is in prod: a development person token is not accepted; use a token from a trusted issuer`);
  }
}

/** Delegation: the parent's card must allow this agent, within the depth limit. */
export async function checkDelegation(ctx: TokenContext, actor: Actor, subject: Subject): Promise<void> {
  if (subject.kind !== 'mandate') return;
  const parentCard = await findAgent(ctx.store.db, subject.parent.client_id);
  if (!parentCard?.may_delegate_to.includes(actor.agent.id)) {
    throw fail('ERR_DELEGATION_NOT_ALLOWED', `agent ${subject.parent.client_id} may not delegate to ${actor.agent.id}`);
  }
  if (subject.parent.depth + 1 > ctx.maxDelegationDepth) {
    throw fail('ERR_DELEGATION_DEPTH', `delegation deeper than ${ctx.maxDelegationDepth} hops is refused`);
  }
}

/**
 * Granted scope = requested ∩ the card's toolset ∩ the parent's scope ∩ the person's entitlements.
 * An item beyond the card or the parent is refused by name; the person's entitlements narrow what
 * remains, and a request with nothing left inside them is refused (`ERR_SCOPE_NOT_ENTITLED`).
 * `person` is undefined when no entitlements are configured (no person limit) and for delegation,
 * whose parent was already limited.
 */
export function grantScope(request: ExchangeRequest, actor: Actor, subject: Subject, person?: PersonLimit): ScopeItem[] {
  const requested = parseScope(request.scope);
  const toolset = parseScope(actor.agent.toolset.join(' '));
  const limits = subject.kind === 'mandate' ? [toolset, parseScope(subject.parent.scope)] : [toolset];
  const { granted, refused } = intersect(requested, ...limits);
  const first = refused[0];
  if (first) {
    const item = formatScopeItem(first);
    if (subject.kind === 'mandate' && !intersect([first], limits[1]!).granted.length) {
      throw fail('ERR_SCOPE_EXCEEDS_PARENT', `scope ${item} exceeds the parent mandate`);
    }
    throw fail('ERR_SCOPE_INVALID', `scope ${item} is not in the toolset of agent ${actor.agent.id}`);
  }
  if (!person || subject.kind !== 'person') return granted;
  const entitled = narrow(granted, person.items);
  if (entitled.length === 0) {
    const groups = subject.groups.length > 0 ? `groups ${subject.groups.join(', ')}` : 'no groups';
    throw fail(
      'ERR_SCOPE_NOT_ENTITLED',
      `the person ${subject.sub} lacks the right: scope ${formatScope(granted)} is outside the entitlements of their ${groups}`,
    );
  }
  return entitled;
}

/** Which of request, card and person limited a granted scope: for the refusal message and the trail. */
export function limitedBy(request: ExchangeRequest, granted: readonly ScopeItem[]): 'request' | 'person' {
  return formatScope(parseScope(request.scope)) === formatScope(granted) ? 'request' : 'person';
}

/** Audiences must be our enforcement points; a child's must be among its parent's. */
export function grantAudience(ctx: TokenContext, request: ExchangeRequest, subject: Subject): string[] {
  const ours = [`${ctx.issuer}/mcp`, `${ctx.issuer}/broker`, `${ctx.issuer}/a2a`];
  for (const resource of request.resources) {
    const known = ours.some((base) => resource === base || (resource.startsWith(`${base}/`) && !resource.includes('..')));
    if (!known || resource.includes('?') || resource.includes('#')) {
      throw fail('ERR_TARGET_INVALID', `resource ${resource.slice(0, 200)} is not an enforcement point of this issuer`);
    }
    if (subject.kind === 'mandate' && !subject.parent.aud.includes(resource)) {
      throw fail('ERR_TARGET_INVALID', `resource ${resource.slice(0, 200)} exceeds the parent mandate's audience`);
    }
  }
  return [...new Set(request.resources)];
}

/** Minutes, never above the card's maximum, the subject's remaining life, or the parent's. */
export function grantLifetime(actor: Actor, subject: Subject, nowSeconds: number): number {
  const subjectExp = subject.kind === 'mandate' ? subject.parent.exp : subject.exp;
  const seconds = Math.min(DEFAULT_MANDATE_SECONDS, actor.agent.max_token_lifetime, subjectExp - nowSeconds);
  if (seconds <= 0) throw fail('ERR_GRANT_INVALID', 'the subject token has no lifetime left');
  return seconds;
}

/** The task's budget, or the card's default; never above the parent's. */
export function grantBudget(request: ExchangeRequest, actor: Actor, subject: Subject): number {
  const asked = request.task?.budget;
  if (subject.kind !== 'mandate') return asked ?? actor.agent.default_budget;
  const ceiling = subject.parent.budget;
  if (asked !== undefined && asked > ceiling) {
    throw fail('ERR_BUDGET_EXCEEDS_PARENT', `budget ${asked} exceeds the parent mandate's budget ${ceiling}`);
  }
  return Math.min(asked ?? actor.agent.default_budget, ceiling);
}

/** Record constraints: those asked for, never wider than the parent's (which a child keeps when it asks for none). */
export function grantRecords(request: ExchangeRequest, subject: Subject): RecordConstraints | undefined {
  return narrowRecords(subject.kind === 'mandate' ? recordsOf(subject.parent) : undefined, request.records);
}

export { formatScope };
