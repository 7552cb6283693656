/**
 * What a policy's scope says about the requests it can apply to: the concrete actions, and what it
 * requires of the principal and of the resource. Used only to leave out policies that cannot apply;
 * Cedar still evaluates the scope of every policy it is given.
 */
import type { PolicyJson } from '@cedar-policy/cedar-wasm/nodejs';
import { NAMESPACE, type Schema } from './schema.ts';
import { fromJson, type Uid } from './uid.ts';

/** A principal or resource scope constraint. */
export type EntityScope =
  | { readonly kind: 'any' }
  | { readonly kind: 'eq'; readonly uid: Uid }
  | { readonly kind: 'in'; readonly uid: Uid }
  | { readonly kind: 'is'; readonly type: string; readonly in: Uid | null };

export interface Scope {
  /** Concrete actions the policy can apply to. */
  readonly actions: readonly string[];
  readonly principal: EntityScope;
  readonly resource: EntityScope;
}

const ACTION_TYPE = `${NAMESPACE}::Action`;

export function scopeOf(json: PolicyJson, schema: Schema): Scope {
  return {
    actions: actionsOf(json.action, schema),
    principal: entityScopeOf(json.principal),
    resource: entityScopeOf(json.resource),
  };
}

function actionsOf(constraint: PolicyJson['action'], schema: Schema): string[] {
  if (constraint.op === 'All') return [...schema.actions.keys()];
  if (!('entity' in constraint) && !('entities' in constraint)) return [];
  const named = ('entities' in constraint ? constraint.entities : [constraint.entity]).map(fromJson);
  const ids = named.filter((u) => u.type === ACTION_TYPE).map((u) => u.id);
  if (constraint.op === '==') return ids.filter((id) => schema.actions.has(id));
  return [...new Set(ids.flatMap((id) => schema.covers.get(id) ?? []))];
}

function entityScopeOf(constraint: PolicyJson['principal'] | PolicyJson['resource']): EntityScope {
  switch (constraint.op) {
    case 'All':
      return { kind: 'any' };
    case '==':
      return 'entity' in constraint ? { kind: 'eq', uid: fromJson(constraint.entity) } : { kind: 'any' };
    case 'in':
      return 'entity' in constraint ? { kind: 'in', uid: fromJson(constraint.entity) } : { kind: 'any' };
    case 'is': {
      const within =
        constraint.in !== undefined && 'entity' in constraint.in ? fromJson(constraint.in.entity) : null;
      return { kind: 'is', type: constraint.entity_type, in: within };
    }
  }
}

/** The entity a scope names (`==`, `in`, `is … in`), if any. */
export const namedBy = (scope: EntityScope): Uid | null =>
  scope.kind === 'is' ? scope.in : scope.kind === 'any' ? null : scope.uid;
