/**
 * Which arguments a policy reads (`context.args.amount`, `context.args.filter.customer_id`), from
 * its JSON form: what `policy explain` names beside a policy, with the call's value, so the reader
 * sees which argument decided.
 */
import type { Expr, PolicyJson } from '@cedar-policy/cedar-wasm/nodejs';

type Node = Record<string, unknown>;

/** Dotted paths below `context.args`, in order of first use. */
export function argsReadBy(json: PolicyJson): string[] {
  const paths = new Set<string>();
  for (const condition of json.conditions) walk(condition.body, paths);
  return [...paths];
}

/** `context.args.a.b` as `['a', 'b']`, or null when `e` is no such path. */
function argsPath(e: unknown): string[] | null {
  const access = (e as Node | null)?.['.'] as { left?: unknown; attr?: string } | undefined;
  if (!access || typeof access.attr !== 'string') return null;
  const left = access.left as Node | undefined;
  const inner = left?.['.'] as { left?: unknown; attr?: string } | undefined;
  if (inner && (inner.left as Node | undefined)?.['Var'] === 'context' && inner.attr === 'args') return [access.attr];
  const above = argsPath(left);
  return above ? [...above, access.attr] : null;
}

function walk(e: unknown, paths: Set<string>): void {
  if (e === null || typeof e !== 'object') return;
  const path = argsPath(e);
  if (path) {
    paths.add(path.join('.'));
    return;
  }
  const has = (e as Node)['has'] as { left?: unknown; attr?: string } | undefined;
  if (has && typeof has.attr === 'string') {
    const base = argsPath(has.left);
    if (base) paths.add([...base, has.attr].join('.'));
  }
  for (const value of Object.values(e as Node)) {
    if (Array.isArray(value)) for (const item of value) walk(item as Expr, paths);
    else walk(value, paths);
  }
}

/** The value at `path` in a Cedar context's `args`, as Cedar would print it; undefined when absent. */
export function argsValueAt(args: unknown, path: string): string | undefined {
  let value = args;
  for (const name of path.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, name)) return undefined;
    value = (value as Node)[name];
  }
  const extension = (value as { __extn?: { fn: string; arg: string } } | null)?.__extn;
  return extension ? `${extension.fn}("${extension.arg}")` : JSON.stringify(value);
}
