/**
 * `context.args` in Cedar's terms: a schema fragment (`type Args = { … }`) generated from the JSON
 * Schemas of the arguments Mandate knows — each pinned tool's input schema, each broker endpoint's
 * declared `arguments` — so policies validate in strict mode against real argument names and types
 * (`context.args.amount <= 100`). Cedar types a context per action, not per tool, so the fragment is
 * the union of every source's fields, each optional: a policy tests `context.args has amount` before
 * reading it, and a field a call does not carry (or a value that does not fit) is simply absent.
 *
 *   JSON Schema                    Cedar
 *   string (any format), enum      String
 *   integer                        Long
 *   number                         decimal (at most 4 decimal places; others are left out)
 *   boolean                        Bool
 *   object with properties         record, every attribute optional
 *   array of a supported type      Set<…>
 *   anything else                  left out, with a note (anyOf/oneOf, $ref, null, maps, …)
 * A field two sources type differently is left out, with a note; records merge attribute by attribute.
 */

export type ArgType =
  | { readonly kind: 'String' | 'Long' | 'Bool' | 'decimal' }
  | { readonly kind: 'Set'; readonly of: ArgType }
  | { readonly kind: 'Record'; readonly attrs: ReadonlyMap<string, ArgType> };

export type ArgsRecord = ReadonlyMap<string, ArgType>;

export interface ArgsFragment {
  /** The `Args` record: every field any source declares that Cedar can type. */
  readonly attrs: ArgsRecord;
  /** What was left out, and why (`refund.items: anyOf is not supported`). */
  readonly notes: readonly string[];
  /** `type Args = {…};`, the text spliced into the schema. */
  readonly text: string;
}

/** One source of arguments: `server/tool` with its pinned input schema, or `connection METHOD path`. */
export interface ArgsSource {
  readonly name: string;
  readonly schema: unknown;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
const MAX_DEPTH = 4;
const MAX_FIELDS = 512;

type Node = Record<string, unknown>;

function typeOf(schema: unknown, where: string, notes: string[], depth: number): ArgType | null {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return skip(notes, where, 'has no schema object');
  const s = schema as Node;
  for (const keyword of ['anyOf', 'oneOf', 'allOf', '$ref', 'not', 'if']) if (s[keyword] !== undefined) return skip(notes, where, `${keyword} is not supported`);
  const type = s['type'] ?? (Array.isArray(s['enum']) && s['enum'].every((v) => typeof v === 'string') ? 'string' : undefined);
  switch (type) {
    case 'string':
      return { kind: 'String' };
    case 'integer':
      return { kind: 'Long' };
    case 'number':
      return { kind: 'decimal' };
    case 'boolean':
      return { kind: 'Bool' };
    case 'array': {
      if (depth >= MAX_DEPTH) return skip(notes, where, `is nested deeper than ${MAX_DEPTH} levels`);
      const of = typeOf(s['items'], `${where}[]`, notes, depth + 1);
      return of ? { kind: 'Set', of } : null;
    }
    case 'object': {
      if (depth >= MAX_DEPTH) return skip(notes, where, `is nested deeper than ${MAX_DEPTH} levels`);
      const properties = s['properties'];
      if (properties === null || typeof properties !== 'object' || Object.keys(properties).length === 0) return skip(notes, where, 'is an object without properties (a map)');
      return { kind: 'Record', attrs: recordOf(properties as Node, where, notes, depth + 1) };
    }
    default:
      return skip(notes, where, `type ${JSON.stringify(type ?? null)} is not supported`);
  }
}

function recordOf(properties: Node, where: string, notes: string[], depth: number): Map<string, ArgType> {
  const attrs = new Map<string, ArgType>();
  for (const [name, property] of Object.entries(properties)) {
    const at = where ? `${where}.${name}` : name;
    if (!NAME.test(name)) {
      skip(notes, at, 'is not a name Cedar policies can read (letters, digits, _ and -)');
      continue;
    }
    const type = typeOf(property, at, notes, depth);
    if (type) attrs.set(name, type);
  }
  return attrs;
}

const skip = (notes: string[], where: string, why: string): null => {
  notes.push(`${where}: ${why}`);
  return null;
};

/** `a` and `b` as one type, or null when they conflict; records merge attribute by attribute. */
function merge(a: ArgType, b: ArgType, where: string, notes: string[]): ArgType | null {
  if (a.kind === 'Record' && b.kind === 'Record') return { kind: 'Record', attrs: mergeRecords(a.attrs, b.attrs, where, notes) };
  if (a.kind === 'Set' && b.kind === 'Set') {
    const of = merge(a.of, b.of, `${where}[]`, notes);
    return of ? { kind: 'Set', of } : null;
  }
  if (a.kind === b.kind) return a;
  return skip(notes, where, `is ${render(a)} in one source and ${render(b)} in another`);
}

function mergeRecords(a: ArgsRecord, b: ArgsRecord, where: string, notes: string[], conflicted?: Set<string>): Map<string, ArgType> {
  const out = new Map(a);
  for (const [name, type] of b) {
    if (conflicted?.has(name)) continue;
    const before = out.get(name);
    if (before === undefined) {
      out.set(name, type);
      continue;
    }
    const merged = merge(before, type, where ? `${where}.${name}` : name, notes);
    if (merged) out.set(name, merged);
    else {
      out.delete(name);
      // A field left out for a conflict stays out, whatever a later source declares.
      conflicted?.add(name);
    }
  }
  return out;
}

/** The `Args` fragment of every source, sorted by name so the same sources give the same text. */
export function argsFragment(sources: readonly ArgsSource[]): ArgsFragment {
  const notes: string[] = [];
  const conflicted = new Set<string>();
  let attrs: Map<string, ArgType> = new Map();
  for (const source of [...sources].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0))) {
    const own: string[] = [];
    const type = typeOf(source.schema, '(arguments)', own, 0);
    if (type?.kind === 'Record') attrs = mergeRecords(attrs, type.attrs, '', own, conflicted);
    notes.push(...own.map((note) => `${source.name} ${note.replace(/^\(arguments\)\./, '')}`));
  }
  if (attrs.size > MAX_FIELDS) {
    notes.push(`only the first ${MAX_FIELDS} fields are typed`);
    attrs = new Map([...attrs].slice(0, MAX_FIELDS));
  }
  const sorted = sortRecord(attrs);
  return { attrs: sorted, notes, text: `type Args = ${render({ kind: 'Record', attrs: sorted })};` };
}

const sortRecord = (attrs: ArgsRecord): Map<string, ArgType> =>
  new Map(
    [...attrs]
      .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
      .map(([name, type]) => [name, type.kind === 'Record' ? { kind: 'Record', attrs: sortRecord(type.attrs) } : type]),
  );

function render(type: ArgType): string {
  if (type.kind === 'Set') return `Set<${render(type.of)}>`;
  if (type.kind === 'Record') return `{${[...type.attrs].map(([name, t]) => ` "${name}"?: ${render(t)}`).join(',')}${type.attrs.size > 0 ? ' ' : ''}}`;
  return type.kind === 'decimal' ? '__cedar::decimal' : type.kind;
}

/** The fragment of no source: `context.args` has no readable field. */
export const EMPTY_ARGS: ArgsFragment = argsFragment([]);
