/**
 * A validated request in Cedar's terms: principal, action, resource, context and the entities they
 * stand on. The principal's entity depends only on the mandate, so it is built once per principal
 * object: an enforcement point that keeps one principal object per mandate pays for it once.
 */
import type { Context, EntityJson } from '@cedar-policy/cedar-wasm/nodejs';
import { refusal } from '../errors.ts';
import { requestContext } from './context.ts';
import { principalEntity, resourceEntities } from './entities.ts';
import {
  decisionRequestSchema,
  issuesOf,
  type ParsedRequest,
  type PrincipalInput,
  principalSchema,
} from './request.ts';
import type { Schema } from './schema.ts';
import { type Uid, uid, uidKey } from './uid.ts';

export interface CedarRequest {
  readonly principal: Uid;
  readonly action: Uid;
  readonly resource: Uid;
  readonly context: Context;
  readonly entities: {
    readonly principal: EntityJson;
    readonly resource: readonly EntityJson[];
    /** The action with its groups as parents (Cedar takes them from the schema when it has one). */
    readonly action: EntityJson;
    /** The person the agent acts for, in their groups; absent when there is none. */
    readonly person?: EntityJson;
  };
  /** Every ancestor of the principal: its Agent and its card's Roles. */
  readonly principalAncestors: readonly Uid[];
  /** Ancestors of the resource fixed by its id (see `ResourceEntities.ancestors`). */
  readonly resourceAncestors: readonly Uid[];
  /** Every ancestor of the resource. */
  readonly resourceClosure: readonly Uid[];
  /** The principal's toolset (`principal.toolset`). */
  readonly toolset: Uid;
  readonly approvalGranted: boolean;
}

interface Principal {
  readonly input: PrincipalInput;
  readonly entity: EntityJson;
}

const principals = new WeakMap<object, Principal>();
const restSchema = decisionRequestSchema.omit({ principal: true });

/** @throws MandateError `ERR_POLICY_REQUEST_INVALID` (400) with one detail per problem. */
export function toCedarRequest(input: unknown, schema: Schema, now: () => Date): CedarRequest {
  const raw = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  const principal = principalOf(raw['principal']);
  const { principal: _, ...others } = raw;
  const rest = restSchema.safeParse(others);
  const problems = [
    ...(principal.ok ? [] : principal.problems),
    ...(rest.success ? [] : issuesOf(rest.error)),
  ];
  if (!principal.ok || !rest.success || problems.length > 0) {
    const first = problems[0];
    throw refusal(
      'ERR_POLICY_REQUEST_INVALID',
      `Invalid request: ${first?.path}: ${first?.message}`,
      problems,
    );
  }
  const request: ParsedRequest = {
    ...rest.data,
    principal: principal.value.input,
  };
  const action = schema.actions.get(request.action);
  const resource = resourceEntities(request.resource, request.principal.agent);
  if (action === undefined || !action.resourceTypes.includes(resource.uid.type)) {
    const expected = action?.resourceTypes.join(' or ') ?? 'nothing';
    throw refusal(
      'ERR_POLICY_REQUEST_INVALID',
      `Invalid request: ${request.action} applies to ${expected}, not ${resource.uid.type}`,
      [
        {
          path: 'resource.type',
          message: `${request.action} applies to ${expected}`,
        },
      ],
    );
  }
  const actionUid = uid('Action', action.name);
  const principalEntity = closedOver(principal.value.entity, resource.entities);
  return {
    principal: principalEntity.uid as Uid,
    action: actionUid,
    resource: resource.uid,
    context: requestContext(request, now, schema.args.attrs),
    entities: {
      principal: principalEntity,
      resource: resource.entities,
      action: {
        uid: actionUid,
        attrs: {},
        parents: action.groups.map((g) => uid('Action', g)),
      },
      ...(request.person === null
        ? {}
        : { person: { uid: uid('User', request.person), attrs: {}, parents: (request.personGroups ?? []).map((g) => uid('Group', g)) } }),
    },
    principalAncestors: principalEntity.parents as Uid[],
    resourceAncestors: resource.ancestors,
    resourceClosure: resource.closure,
    toolset: uid('Toolset', request.principal.agent.id),
    approvalGranted: request.context.approval === 'granted',
  };
}

type PrincipalResult =
  | { ok: true; value: Principal }
  | { ok: false; problems: { path: string; message: string }[] };

function principalOf(input: unknown): PrincipalResult {
  const cached = typeof input === 'object' && input !== null ? principals.get(input) : undefined;
  if (cached !== undefined) return { ok: true, value: cached };
  const parsed = principalSchema.safeParse(input);
  if (!parsed.success) {
    return { ok: false, problems: issuesOf(parsed.error, ['principal']) };
  }
  const value = { input: parsed.data, entity: principalEntity(parsed.data) };
  if (typeof input === 'object' && input !== null) principals.set(input, value);
  return { ok: true, value };
}

/**
 * The principal with every ancestor it has through `others` listed as a direct parent. Only a
 * `delegate` to another instance of the principal's own agent puts one of its ancestors (that Agent)
 * among the resource entities; slicing needs the principal's ancestors complete.
 */
function closedOver(entity: EntityJson, others: readonly EntityJson[]): EntityJson {
  const key = (u: unknown) => uidKey(u as Uid);
  const byKey = new Map(others.map((o) => [key(o.uid), o]));
  if (!entity.parents.some((p) => byKey.has(key(p)))) return entity;
  const closure = new Map(entity.parents.map((p) => [key(p), p]));
  const queue = [...entity.parents];
  for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
    for (const parent of byKey.get(key(next))?.parents ?? []) {
      if (!closure.has(key(parent))) {
        closure.set(key(parent), parent);
        queue.push(parent);
      }
    }
  }
  return { ...entity, parents: [...closure.values()] };
}
