import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** Server-side modules the SDK may reach because they are pure: no store, server, or secrets. */
const SHARED = ['jose/jwk-thumbprint.ts', 'jose/base64url.ts', 'jose/dpop-key.ts', 'tokens/scope.ts', 'tokens/scope-path.ts', 'errors.ts', 'errors/catalogue.ts'];

const sdk = path.dirname(fileURLToPath(import.meta.url));
const src = path.dirname(sdk);
const relativeImports = (file: string) =>
  [...readFileSync(path.join(src, file), 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)].map(([, specifier]) =>
    path.relative(src, path.resolve(path.dirname(path.join(src, file)), specifier!)).split(path.sep).join('/'),
  );

describe('the SDK', () => {
  it('reaches nothing on the server side, even transitively, except pure shared modules', () => {
    const pending = readdirSync(sdk)
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .map((f) => `sdk/${f}`);
    const reached = new Set(pending);
    const offending: string[] = [];
    for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
      for (const target of relativeImports(file)) {
        if (!target.startsWith('sdk/') && !SHARED.includes(target)) offending.push(`${file} → ${target}`);
        else if (!reached.has(target)) {
          reached.add(target);
          pending.push(target);
        }
      }
    }
    expect(offending).toEqual([]);
    expect(reached).toContain('jose/jwk-thumbprint.ts');
  });
});
