import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { covers, formatScopeItem, intersect, parseScopeItem, permits, type ScopeItem } from './scope.ts';

// Small alphabets so that containment between generated items is frequent.
const toolItem = fc.record({
  kind: fc.constant('tool' as const),
  server: fc.constantFrom('a', 'b'),
  tool: fc.constantFrom('x', 'y', '*'),
});
const httpItem = fc.record({
  kind: fc.constant('http' as const),
  connection: fc.constantFrom('c', 'd'),
  method: fc.constantFrom('GET', 'POST', '*'),
  path: fc
    .tuple(fc.array(fc.constantFrom('p', 'q', '*'), { maxLength: 3 }), fc.boolean())
    .map(([segments, deep]) => (deep ? [...segments, '**'] : segments)),
});
const a2aItem = fc.record({
  kind: fc.constant('a2a' as const),
  peer: fc.constantFrom('a', 'e'),
  method: fc.constantFrom('message/send', 'tasks/get', '*'),
});
const scopeItem: fc.Arbitrary<ScopeItem> = fc.oneof(toolItem, httpItem, a2aItem);
const scopeSet = fc.array(scopeItem, { maxLength: 6 });

/** An item at least as wide as `item`, built by the moves that widen: `*` for a name, a shorter `**` path. */
const widen = (item: ScopeItem): fc.Arbitrary<ScopeItem> => {
  if (item.kind === 'tool') return fc.constantFrom(item, { ...item, tool: '*' });
  if (item.kind === 'a2a') return fc.constantFrom(item, { ...item, method: '*' });
  const fixed = item.path.filter((s) => s !== '**');
  return fc
    .record({
      method: fc.constantFrom(item.method, '*'),
      stars: fc.array(fc.boolean(), { minLength: fixed.length, maxLength: fixed.length }),
      cut: fc.option(fc.nat({ max: fixed.length }), { nil: undefined }),
    })
    .map(({ method, stars, cut }) => {
      const path = fixed.map((s, i) => (stars[i] ? '*' : s));
      if (cut !== undefined) return { ...item, method, path: [...path.slice(0, cut), '**'] };
      return { ...item, method, path: item.path.length > fixed.length ? [...path, '**'] : path };
    });
};
/** A parent scope and a request that partly overlaps it: some of its items, some narrowed, some unrelated. */
const parentAndRequest = scopeSet.chain((parent) =>
  fc
    .array(fc.oneof(scopeItem, ...(parent.length > 0 ? [fc.constantFrom(...parent)] : [])), { maxLength: 6 })
    .map((requested) => [parent, requested] as const),
);

/** Sometimes a chain c ⊆ b ⊆ a by construction, sometimes three unrelated items. */
const triple = fc.oneof(
  fc.tuple(scopeItem, scopeItem, scopeItem),
  scopeItem.chain((c) => widen(c).chain((b) => widen(b).map((a) => [a, b, c] as const))),
);

/**
 * Every concrete request the generated items can tell apart: each literal they use plus a fresh
 * one (`z`, `PUT`, `r`), paths one segment longer than any pattern's fixed part.
 */
const universe: ScopeItem[] = (() => {
  const out: ScopeItem[] = [];
  for (const server of ['a', 'b']) for (const tool of ['x', 'y', 'z']) out.push({ kind: 'tool', server, tool });
  for (const peer of ['a', 'e']) for (const method of ['message/send', 'tasks/get', 'tasks/cancel']) out.push({ kind: 'a2a', peer, method });
  let paths: string[][] = [[]];
  const all = [[]] as string[][];
  for (let depth = 1; depth <= 5; depth++) {
    paths = paths.flatMap((p) => ['p', 'q', 'r'].map((s) => [...p, s]));
    all.push(...paths);
  }
  for (const connection of ['c', 'd']) {
    for (const method of ['GET', 'POST', 'PUT']) for (const path of all) out.push({ kind: 'http', connection, method, path });
  }
  return out;
})();

/** Reference semantics, independent of covers(): what concrete request an item matches. */
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const globs = new WeakMap<ScopeItem, RegExp>();
function matches(item: ScopeItem, x: ScopeItem): boolean {
  if (item.kind === 'tool' || x.kind === 'tool') {
    return item.kind === 'tool' && x.kind === 'tool' && item.server === x.server && (item.tool === '*' || item.tool === x.tool);
  }
  if (item.kind === 'a2a' || x.kind === 'a2a') {
    return item.kind === 'a2a' && x.kind === 'a2a' && item.peer === x.peer && (item.method === '*' || item.method === x.method);
  }
  let glob = globs.get(item);
  if (!glob) {
    const source = item.path.map((s) => (s === '**' ? '(?:/[^/]+)*' : s === '*' ? '/[^/]+' : `/${escape(s)}`)).join('');
    glob = new RegExp(`^${source}$`);
    globs.set(item, glob);
  }
  return (
    item.connection === x.connection &&
    (item.method === '*' || item.method === x.method) &&
    glob.test(x.path.map((s) => `/${s}`).join(''))
  );
}

describe('scope algebra properties', () => {
  it('formats and parses back every item', () => {
    fc.assert(
      fc.property(scopeItem, (item) => {
        expect(parseScopeItem(formatScopeItem(item))).toEqual(item);
      }),
    );
  });

  it('covers is exactly containment of the requests two items permit', () => {
    fc.assert(
      fc.property(scopeItem, scopeItem, (a, b) => {
        const contained = universe.every((x) => !matches(b, x) || matches(a, x));
        expect(covers(a, b)).toBe(contained);
      }),
      { numRuns: 500 },
    );
  });

  it('permits a call exactly when an item of the scope matches it', () => {
    fc.assert(
      fc.property(scopeSet, (set) => {
        for (const x of universe) expect(permits(set, x)).toBe(set.some((item) => matches(item, x)));
      }),
      { numRuns: 25 },
    );
  });

  it('covers is reflexive', () => {
    fc.assert(
      fc.property(scopeItem, (a) => {
        expect(covers(a, a)).toBe(true);
      }),
    );
  });

  it('covers is transitive', () => {
    let chains = 0;
    fc.assert(
      fc.property(triple, ([a, b, c]) => {
        if (covers(a, b) && covers(b, c)) {
          chains++;
          expect(covers(a, c)).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
    expect(chains).toBeGreaterThan(500);
  });

  it('never grants an item its parent does not cover', () => {
    fc.assert(
      fc.property(parentAndRequest, ([parent, requested]) => {
        const { granted, refused } = intersect(requested, parent);
        for (const item of granted) expect(parent.some((p) => covers(p, item))).toBe(true);
        expect(granted.length + refused.length).toBe(requested.length);
      }),
    );
  });

  it('never lets a granted scope permit a call its parent would refuse', () => {
    let permitted = 0;
    fc.assert(
      fc.property(parentAndRequest, ([parent, requested]) => {
        const { granted } = intersect(requested, parent);
        for (const x of universe) {
          if (!permits(granted, x)) continue;
          permitted++;
          expect(permits(parent, x)).toBe(true);
        }
      }),
    );
    expect(permitted).toBeGreaterThan(1000);
  });

  it('grants within every limit at once', () => {
    fc.assert(
      fc.property(scopeSet, fc.array(scopeSet, { minLength: 1, maxLength: 3 }), (requested, limits) => {
        const { granted } = intersect(requested, ...limits);
        for (const x of universe) {
          if (permits(granted, x)) for (const limit of limits) expect(permits(limit, x)).toBe(true);
        }
      }),
    );
  });
});
