/**
 * What a policy reads from a request: which context fields, which entity attributes, and which
 * ancestors an `in` may test. A slice of policies is evaluated with only what its policies read,
 * which is what keeps a decision cheap: Cedar's cost per call grows with every entity, parent,
 * attribute and context field it is handed. Leaving out what no policy reads cannot change a
 * decision; the differential test checks it.
 */
import type { Expr, PolicyJson } from '@cedar-policy/cedar-wasm/nodejs';
import { fromJson, uidKey } from './uid.ts';

/**
 * Ancestors that may be tested: all of them, or only these (uid keys, and `PRINCIPAL_TOOLSET` for
 * the principal's `toolset`, whatever agent it is); empty means none.
 */
export type Need = 'all' | ReadonlySet<string>;

/** Stands for `principal.toolset` in a `Need`: `resource in principal.toolset`. */
export const PRINCIPAL_TOOLSET = '@principal.toolset';

export interface Footprint {
  /** Context fields used, or `all` when `context` is used as a whole. */
  readonly context: ReadonlySet<string> | 'all';
  /** Attribute names used on entities and records (a name used anywhere counts everywhere). */
  readonly attributes: ReadonlySet<string>;
  /**
   * Names (context fields and attributes) only ever tested with `has`, never read: their value
   * cannot matter, only whether they are present (and an entity reference costs Cedar ~15 µs).
   */
  readonly presence: ReadonlySet<string>;
  readonly hierarchy: {
    readonly principal: Need;
    readonly action: Need;
    readonly resource: Need;
  };
}

type Variable = 'principal' | 'action' | 'resource';
const VARIABLES: readonly Variable[] = ['principal', 'action', 'resource'];

export function footprintOf(json: PolicyJson): Footprint {
  const walk = new Walk();
  for (const condition of json.conditions) walk.expr(condition.body);
  // No action scope: slices widen `action in […]` scopes away (see `slice-text.ts`).
  const named = {
    principal: scopeNamed(json.principal),
    action: new Set<string>(),
    resource: scopeNamed(json.resource),
  };
  for (const v of VARIABLES) for (const key of walk.inTargets[v]) named[v].add(key);
  const need = (v: Variable): Need => (walk.anyIn.has(v) || walk.anyIn.has('other') ? 'all' : named[v]);
  return {
    context: walk.wholeContext ? 'all' : walk.context,
    attributes: walk.attributes,
    presence: new Set([...walk.tested].filter((name) => !walk.read.has(name))),
    hierarchy: {
      principal: need('principal'),
      action: need('action'),
      resource: need('resource'),
    },
  };
}

/** Entities a scope tests with `in` (`in e`, `in [e, …]`, `is T in e`). */
function scopeNamed(constraint: { op: string }): Set<string> {
  const c = constraint as {
    op: string;
    entity?: unknown;
    entities?: unknown[];
    in?: { entity?: unknown };
  };
  const tested = c.op === 'in' ? (c.entities ?? [c.entity]) : c.op === 'is' ? [c.in?.entity] : [];
  return new Set(tested.filter((e) => e !== undefined).map((e) => uidKey(fromJson(e as never))));
}

export function unionOf(footprints: readonly Footprint[]): Footprint {
  const context = new Set<string>();
  const attributes = new Set<string>();
  const presence = new Set<string>();
  const read = new Set<string>();
  let whole = false;
  const needs: Record<Variable, Set<string> | 'all'> = {
    principal: new Set(),
    action: new Set(),
    resource: new Set(),
  };
  for (const f of footprints) {
    if (f.context === 'all') whole = true;
    else for (const name of f.context) context.add(name);
    for (const name of f.attributes) attributes.add(name);
    for (const name of [...(f.context === 'all' ? [] : f.context), ...f.attributes]) {
      if (f.presence.has(name)) presence.add(name);
      else read.add(name);
    }
    for (const v of VARIABLES) {
      const need = needs[v];
      const more = f.hierarchy[v];
      if (more === 'all') needs[v] = 'all';
      else if (need !== 'all') for (const key of more) need.add(key);
    }
  }
  for (const name of read) presence.delete(name);
  return {
    context: whole ? 'all' : context,
    attributes,
    presence: whole ? new Set() : presence,
    hierarchy: needs,
  };
}

type Node = Record<string, unknown>;

/** Uid keys of an `in` right operand made of entity literals or `principal.toolset`, else null. */
function knownTargets(right: unknown): string[] | null {
  const node = right as Node;
  const value = node['Value'] as { __entity?: unknown } | undefined;
  if (value?.__entity !== undefined) return [uidKey(fromJson(value as never))];
  const access = node['.'] as { left?: unknown; attr?: unknown } | undefined;
  if (access !== undefined && variableOf(access.left) === 'principal' && access.attr === 'toolset') {
    return [PRINCIPAL_TOOLSET];
  }
  const set = node['Set'];
  if (Array.isArray(set)) {
    const keys = set.map(knownTargets);
    return keys.every((k) => k !== null) ? keys.flat() : null;
  }
  return null;
}
const variableOf = (e: unknown): string | undefined => (e as Node | null)?.['Var'] as string | undefined;

class Walk {
  readonly context = new Set<string>();
  readonly attributes = new Set<string>();
  /** Left operands of `in` (and `is … in`): a variable, or `other` for any other expression. */
  readonly anyIn = new Set<Variable | 'other'>();
  /** Right operands of `in` known without evaluation, by variable on the left. */
  readonly inTargets: Record<Variable, Set<string>> = {
    principal: new Set(),
    action: new Set(),
    resource: new Set(),
  };
  /** Names read with `.`, and names tested with `has`. */
  readonly read = new Set<string>();
  readonly tested = new Set<string>();
  wholeContext = false;

  expr(e: Expr): void {
    for (const [op, arg] of Object.entries(e as Node)) this.node(op, arg as Node);
  }

  private node(op: string, arg: Node): void {
    switch (op) {
      case 'Value':
      case 'Slot':
        return;
      case 'Var':
        if ((arg as unknown) === 'context') this.wholeContext = true;
        return;
      case '.':
      case 'has':
        this.access(arg['left'] as Expr, [arg['attr'] as string | string[]].flat(), op === 'has');
        return;
      case 'in':
        this.testsAncestors(arg['left'], arg['right']);
        break;
      case 'is':
        if (arg['in'] !== undefined) this.testsAncestors(arg['left']);
        break;
      case 'like':
        this.expr(arg['left'] as Expr);
        return;
    }
    this.children(arg);
  }

  /**
   * `v in e`: when e is known without evaluating anything (entity literals, or the principal's
   * toolset), only those ancestors of v matter; otherwise all of them, and for any left side other
   * than a variable, all ancestors of everything.
   */
  private testsAncestors(left: unknown, right?: unknown): void {
    const v = variableOf(left);
    if (v !== 'principal' && v !== 'action' && v !== 'resource') {
      this.anyIn.add('other');
      return;
    }
    const targets = right === undefined ? null : knownTargets(right);
    if (targets === null) this.anyIn.add(v);
    else for (const key of targets) this.inTargets[v].add(key);
  }

  private access(left: Expr, path: string[], has: boolean): void {
    const [first, ...rest] = path;
    for (const [i, name] of path.entries())
      (has && i === path.length - 1 ? this.tested : this.read).add(name);
    if (variableOf(left) === 'context' && first !== undefined) this.context.add(first);
    else {
      this.expr(left);
      if (first !== undefined) this.attributes.add(first);
    }
    for (const name of rest) this.attributes.add(name);
  }

  /** Operators, records, sets and extension calls: every nested value that is an expression. */
  private children(arg: unknown): void {
    if (Array.isArray(arg)) for (const item of arg) this.expr(item as Expr);
    else if (arg !== null && typeof arg === 'object') {
      for (const [key, value] of Object.entries(arg)) {
        if (key === 'entity_type') continue;
        if (value !== null && typeof value === 'object') this.expr(value as Expr);
      }
    }
  }
}
