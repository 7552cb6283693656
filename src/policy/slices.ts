/**
 * Slicing: a decision evaluates only the policies whose scope could match its request. Policies are
 * indexed by the concrete actions their scope covers; a policy whose principal or resource scope
 * names an entity (`==`, `in`, `is … in`) joins only the slices of requests where that entity can be
 * the principal (resource) or one of its ancestors. Anything the index cannot rule out stays in: a
 * slice may hold policies that do not apply (Cedar evaluates their scope anyway), never leave out
 * one that could.
 *
 * The principal's ancestors are all known at decision time (its Agent and Roles), so principal
 * scopes are decided exactly. A resource's ancestors are partly dynamic (the toolset), so only the
 * ones fixed by its id (a tool's server) are used; an `in` on any other type keeps the policy in.
 *
 * A request's slice is found by (action, principal type, resource type, the named entities its
 * principal and resource are or are in): every request that no policy singles out shares one slice
 * per action and types. Requests whose slices hold the same policies share one slice, so Cedar
 * preparses each distinct slice once.
 */
import { STATIC_ANCESTOR_TYPES } from './entities.ts';
import { type Footprint, footprintOf, unionOf } from './footprint.ts';
import type { Policy } from './policy.ts';
import type { PolicySet } from './policy-set.ts';
import { type EntityScope, namedBy, scopeOf } from './scope.ts';
import { type Uid, uidKey } from './uid.ts';

export interface Slice {
  /** Names the slice's policies: equal keys, equal policies. */
  readonly key: string;
  readonly policies: readonly Policy[];
  /** What the slice's policies read from a request. */
  readonly footprint: Footprint;
  /** The same slice less its `@approval("required")` forbids, when it has any. */
  readonly lifted: Slice | null;
}

/** An entity of the request and the ancestors slicing may rely on. */
export interface Placed {
  readonly uid: Uid;
  readonly ancestors: readonly Uid[];
}

interface Indexed {
  readonly policy: Policy;
  readonly principal: EntityScope;
  readonly resource: EntityScope;
  readonly footprint: Footprint;
}

export class SliceIndex {
  readonly #byAction = new Map<string, Indexed[]>();
  /** Entities named by principal or resource scopes (uid keys). */
  readonly #named = new Set<string>();
  /** Request key to slice, and slice policies to slice. */
  readonly #slices = new Map<string, Slice>();
  readonly #byContent = new Map<string, Slice>();
  readonly #capacity: number;
  /** Principal key parts by ancestors array: a principal's entity is built once per mandate. */
  readonly #principalParts = new WeakMap<object, string>();

  constructor(set: PolicySet, capacity = 65_536) {
    this.#capacity = capacity;
    for (const policy of set.policies.values()) {
      const scope = scopeOf(policy.json, set.schema);
      const indexed = { policy, ...scope, footprint: footprintOf(policy.json) };
      for (const action of scope.actions) {
        const list = this.#byAction.get(action) ?? [];
        list.push(indexed);
        this.#byAction.set(action, list);
      }
      for (const named of [namedBy(scope.principal), namedBy(scope.resource)]) {
        if (named !== null) this.#named.add(uidKey(named));
      }
    }
  }

  /**
   * The named entities `placed` is or is in, as part of a slice key. A principal's ancestors array
   * belongs to one principal entity, built once per mandate, so its part is remembered.
   */
  #namedIn(placed: Placed, remember: boolean): string {
    const known = remember ? this.#principalParts.get(placed.ancestors) : undefined;
    if (known !== undefined) return known;
    let part = '';
    for (const u of [placed.uid, ...placed.ancestors]) {
      const k = uidKey(u);
      if (this.#named.has(k)) part += ` ${k}`;
    }
    if (remember) this.#principalParts.set(placed.ancestors, part);
    return part;
  }

  sliceFor(action: string, principal: Placed, resource: Placed): Slice {
    const key = `${action} ${principal.uid.type} ${resource.uid.type} |${this.#namedIn(principal, true)} |${this.#namedIn(resource, false)}`;
    let slice = this.#slices.get(key);
    if (slice === undefined) {
      const members = (this.#byAction.get(action) ?? []).filter(
        (c) => couldMatch(c.principal, principal, exactly) && couldMatch(c.resource, resource, byIdOnly),
      );
      const content = members.map((m) => m.policy.id).join('\n');
      slice = this.#byContent.get(content) ?? sliceOf(`${this.#byContent.size}`, members);
      if (this.#slices.size >= this.#capacity) this.#slices.clear();
      this.#slices.set(key, slice);
      this.#byContent.set(content, slice);
    }
    return slice;
  }
}

function sliceOf(key: string, members: readonly Indexed[]): Slice {
  const kept = members.filter((m) => !m.policy.liftableByApproval);
  const make = (k: string, list: readonly Indexed[], lifted: Slice | null): Slice => ({
    key: k,
    policies: list.map((m) => m.policy),
    footprint: unionOf(list.map((m) => m.footprint)),
    lifted,
  });
  const lifted = kept.length === members.length ? null : make(`${key} lifted`, kept, null);
  return make(key, members, lifted);
}

/** Can `placed in e` hold, given what is known of its ancestors? */
type InRule = (e: Uid, placed: Placed) => boolean;

const couldMatch = (scope: EntityScope, placed: Placed, couldBeIn: InRule): boolean => {
  switch (scope.kind) {
    case 'any':
      return true;
    case 'eq':
      return same(scope.uid, placed.uid);
    case 'in':
      return couldBeIn(scope.uid, placed);
    case 'is':
      return scope.type === placed.uid.type && (scope.in === null || couldBeIn(scope.in, placed));
  }
};

const isOrIsIn = (e: Uid, placed: Placed) => same(e, placed.uid) || placed.ancestors.some((a) => same(a, e));

/** The principal's ancestors are complete. */
const exactly: InRule = isOrIsIn;

/** A resource's known ancestors are those fixed by its id; other ancestor types depend on the card. */
const byIdOnly: InRule = (e, placed) => {
  if (isOrIsIn(e, placed)) return true;
  const fixed = [placed.uid.type, ...(STATIC_ANCESTOR_TYPES.get(placed.uid.type) ?? [])];
  return !fixed.includes(e.type);
};

const same = (a: Uid, b: Uid) => a.type === b.type && a.id === b.id;
