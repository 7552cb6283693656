import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Files outside `src/store` that still build queries, waiting to move behind a repository. The
 * list may only shrink: a new file that builds queries fails, and so does an entry that no
 * longer builds any (remove it).
 */
const NOT_YET_PORTED: readonly string[] = [];

const src = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const BUILDS_QUERIES = /\.\s*(selectFrom|insertInto|updateTable|deleteFrom|replaceInto|mergeInto)\s*\(|\bsql\s*(<[^`]*>)?\s*`|\.\s*raw\s*\(|\bexecuteQuery\s*\(/;

function sources(dir: string): string[] {
  return readdirSync(path.join(src, dir), { withFileTypes: true }).flatMap((entry) => {
    const file = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory()) return file === 'store' ? [] : sources(file);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [file] : [];
  });
}

describe('storage ports', () => {
  const building = sources('').filter((file) => BUILDS_QUERIES.test(readFileSync(path.join(src, file), 'utf8')));

  it('keeps query building inside src/store: components call repositories', () => {
    expect(building.filter((file) => !NOT_YET_PORTED.includes(file))).toEqual([]);
  });

  it('leaves kysely to src/store: elsewhere only its types are named', () => {
    const importing = sources('').filter((file) => /^import\s+(?!type\b)[^;]*from\s+'kysely/m.test(readFileSync(path.join(src, file), 'utf8')));
    expect(importing).toEqual([]);
  });

  it('lets the list of files not yet ported only shrink', () => {
    expect(NOT_YET_PORTED.filter((file) => !building.includes(file))).toEqual([]);
  });
});
