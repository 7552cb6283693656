import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Folders are the architecture (DESIGN §6): imports between folders point one way. A top-level
 * file (`errors.ts`, `validation.ts`) counts as a folder of its own.
 */
const SRC = import.meta.dirname;

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const file = path.join(dir, d.name);
    if (d.isDirectory()) return sources(file);
    return d.name.endsWith('.ts') && !d.name.endsWith('.test.ts') ? [file] : [];
  });
}

const folderOf = (file: string) => {
  const parts = path.relative(SRC, file).split(path.sep);
  return parts.length === 1 ? parts[0]!.replace(/\.ts$/, '') : parts[0]!;
};

/** folder → folder → the imports that make the arrow. */
function folderGraph(): Map<string, Map<string, string[]>> {
  const graph = new Map<string, Map<string, string[]>>();
  for (const file of sources(SRC)) {
    const from = folderOf(file);
    for (const [, specifier] of fs.readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)) {
      const to = folderOf(path.resolve(path.dirname(file), specifier!));
      if (to === from) continue;
      const arrows = graph.get(from) ?? new Map<string, string[]>();
      graph.set(from, arrows);
      arrows.set(to, [...(arrows.get(to) ?? []), `${path.relative(SRC, file)} → ${specifier}`]);
    }
  }
  return graph;
}

/** Tarjan's strongly connected components with more than one folder: each is an import cycle. */
function cycles(graph: Map<string, Map<string, string[]>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('the folders of src/', () => {
  const graph = folderGraph();

  it('import one another without a cycle', () => {
    const loops = cycles(graph).map((component) =>
      component.flatMap((a) => component.flatMap((b) => (graph.get(a)?.get(b) ?? []).map((why) => `${a} → ${b}: ${why}`))),
    );
    expect(loops).toEqual([]);
  });

  it('keep the lowest layers free of the components above them', () => {
    const low = ['errors', 'config', 'telemetry', 'jose', 'store'];
    const allowed = new Set([...low, 'validation', 'json-depth']);
    const upward = low.flatMap((from) => [...(graph.get(from)?.entries() ?? [])].filter(([to]) => !allowed.has(to)).map(([to, why]) => `${from} → ${to}: ${why[0]}`));
    expect(upward).toEqual([]);
  });

  it('keeps lifecycle governance below the enforcement points, the server and the CLI', () => {
    const above = new Set(['enforcement', 'gateway', 'broker', 'a2a', 'server', 'cli']);
    const upward = [...(graph.get('lifecycle')?.entries() ?? [])].filter(([to]) => above.has(to)).map(([to, why]) => `lifecycle → ${to}: ${why[0]}`);
    expect(upward).toEqual([]);
  });

  it('finds a cycle when there is one (the check can fail)', () => {
    const loop = new Map([
      ['a', new Map([['b', ['a.ts → ../b/x.ts']]])],
      ['b', new Map([['a', ['b.ts → ../a/y.ts']]])],
    ]);
    expect(cycles(loop)).toEqual([['a', 'b']]);
  });
});
