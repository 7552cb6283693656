/**
 * A request cut down to what a slice of policies reads (see `footprint.ts`): the context fields
 * they name, the entity attributes they read (a stand-in `true` for those only tested with `has`),
 * and only the ancestors their `in` tests can ask about.
 * Where every `in` on a variable is in a policy scope, the entity is handed over with its closure of
 * ancestors reduced to the ones named there, so no other entity is needed to answer.
 */
import type { Context, EntityJson } from '@cedar-policy/cedar-wasm/nodejs';
import type { CedarRequest } from './cedar-request.ts';
import { type Footprint, type Need, PRINCIPAL_TOOLSET } from './footprint.ts';
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
    const attrs =
      read.length === declared.length && !presenceOnly ? entity.attrs : pick(entity.attrs, read, presence);
    entities.push({
      uid: entity.uid,
      attrs,
      parents: parents as EntityJson['parents'],
    });
  };
  const { principal, resource, action } = request.entities;
  const toolset = uidKey(request.toolset);
  keep(principal, needed(hierarchy.principal, principal.parents as Uid[], toolset));
  if (hierarchy.resource === 'all') for (const entity of resource) keep(entity, entity.parents);
  else {
    const [self] = resource;
    if (self !== undefined) keep(self, needed(hierarchy.resource, request.resourceClosure, toolset));
  }
  const actionParents = needed(hierarchy.action, action.parents as Uid[], toolset);
  if (actionParents.length > 0) entities.push({ ...action, parents: [...actionParents] });
  // The person's entity (their groups) only for slices that read `context.person`.
  const person = request.entities.person;
  if (person !== undefined && person.parents.length > 0 && (footprint.context === 'all' || footprint.context.has('person'))) entities.push(person);
  const context =
    footprint.context === 'all' ? request.context : pick(request.context, footprint.context, presence);
  return { context, entities };
}

/** `ancestors` is the entity's complete set of ancestors; `toolset` the principal's toolset key. */
function needed(need: Need, ancestors: readonly Uid[], toolset: string): readonly Uid[] {
  if (need === 'all') return ancestors;
  if (need.size === 0) return [];
  const viaToolset = need.has(PRINCIPAL_TOOLSET);
  return ancestors.filter((a) => {
    const key = uidKey(a);
    return need.has(key) || (viaToolset && key === toolset);
  });
}

/** The named fields of `record`; those only tested for presence are replaced by `true`. */
function pick<T>(record: Record<string, T>, names: Iterable<string>, presence: ReadonlySet<string>) {
  const out: Record<string, T | true> = {};
  for (const name of names) {
    const value = record[name];
    if (value !== undefined) out[name] = presence.has(name) ? true : value;
  }
  return out as Record<string, T>;
}
