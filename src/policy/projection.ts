/**
 * A request cut down to what a slice of policies reads (see `footprint.ts`): the context fields
 * they name, the entity attributes they read (a stand-in `true` for those only tested with `has`),
 * and only the ancestors their `in` tests can ask about.
 * Where every `in` on a variable is in a policy scope, the entity is handed over with its closure of
 * ancestors reduced to the ones named there, so no other entity is needed to answer.
 */
import type { Context, EntityJson } from '@cedar-policy/cedar-wasm/nodejs';
import type { CedarRequest } from './cedar-request.ts';
import type { Footprint, Need } from './footprint.ts';
import type { Schema } from './schema.ts';
import { type Uid, uidKey } from './uid.ts';

export interface Projected {
  readonly context: Context;
  readonly entities: EntityJson[];
}

export function project(request: CedarRequest, footprint: Footprint, schema: Schema): Projected {
  const { hierarchy, presence } = footprint;
  const presenceOnly = presence.size > 0;
  const entities: EntityJson[] = [];
  const keep = (entity: EntityJson, parents: readonly unknown[]) => {
    const declared = schema.attributes.get((entity.uid as Uid).type) ?? [];
    const read = declared.filter((a) => footprint.attributes.has(a));
    if (parents.length === 0 && read.length === 0) return;
    const attrs = read.length === declared.length && !presenceOnly ? entity.attrs : pick(entity.attrs, read, presence);
    entities.push({ uid: entity.uid, attrs, parents: parents as EntityJson['parents'] });
  };
  const { principal, resource, action } = request.entities;
  keep(principal, needed(hierarchy.principal, principal.parents as Uid[]));
  if (hierarchy.resource === 'all') for (const entity of resource) keep(entity, entity.parents);
  else for (const entity of resource.slice(0, 1)) keep(entity, needed(hierarchy.resource, request.resourceClosure));
  const actionParents = needed(hierarchy.action, action.parents as Uid[]);
  if (actionParents.length > 0) entities.push({ ...action, parents: [...actionParents] });
  const context = footprint.context === 'all' ? request.context : pick(request.context, footprint.context, presence);
  return { context, entities };
}

/** `ancestors` is the entity's complete set of ancestors. */
const needed = (need: Need, ancestors: readonly Uid[]): readonly Uid[] =>
  need === 'all' ? ancestors : need.size === 0 ? [] : ancestors.filter((a) => need.has(uidKey(a)));

/** The named fields of `record`; those only tested for presence are replaced by `true`. */
function pick<T>(record: Record<string, T>, names: Iterable<string>, presence: ReadonlySet<string>) {
  const out: Record<string, T | true> = {};
  for (const name of names) {
    const value = record[name];
    if (value !== undefined) out[name] = presence.has(name) ? true : value;
  }
  return out as Record<string, T>;
}
