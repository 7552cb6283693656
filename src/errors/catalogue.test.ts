import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MandateError } from '../errors.ts';
import { CATALOGUE, type ErrorCode, isErrorCode, JSONRPC } from './catalogue.ts';
import { errorsMarkdown } from './docs.ts';
import { jsonRpcError } from './render.ts';

const SRC = path.resolve(import.meta.dirname, '..');
/** Codes of other software that Mandate's code compares against but never produces. */
const FOREIGN = new Set(['ERR_BUFFER_TOO_LARGE']);

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const file = path.join(dir, d.name);
    if (d.isDirectory()) return d.name === 'testdata' ? [] : sources(file);
    return /\.ts$/.test(d.name) && !/\.test\.ts$/.test(d.name) ? [file] : [];
  });
}

const files = sources(SRC).map((file) => ({ file: path.relative(SRC, file), text: fs.readFileSync(file, 'utf8') }));
const literals = files.flatMap(({ file, text }) => [...text.matchAll(/['"`](ERR_[A-Z0-9_]+)['"`]/g)].map((m) => ({ file, code: m[1]! })));

describe('the error catalogue', () => {
  it('holds every code the source can produce', () => {
    const missing = literals.filter(({ code }) => !isErrorCode(code) && !FOREIGN.has(code)).map(({ file, code }) => `${file}: ${code}`);
    expect(missing).toEqual([]);
  });

  it('has no code built at run time', () => {
    const built = files.filter(({ text }) => /`ERR_[A-Z0-9_]*\$\{(?!string\})/.test(text)).map(({ file }) => file);
    expect(built).toEqual([]);
  });

  it('has no entry that nothing produces', () => {
    const used = new Set(literals.filter(({ file }) => !file.startsWith('errors/')).map(({ code }) => code));
    expect(Object.keys(CATALOGUE).filter((code) => !used.has(code))).toEqual([]);
  });

  it('gives every code an HTTP status, a one-line meaning and sane wire mappings', () => {
    for (const [code, entry] of Object.entries(CATALOGUE) as Array<[ErrorCode, (typeof CATALOGUE)[ErrorCode]]>) {
      expect(code).toMatch(/^ERR_[A-Z0-9]+(_[A-Z0-9]+)*$/);
      expect(entry.status, code).toBeGreaterThanOrEqual(400);
      expect(entry.status, code).toBeLessThan(600);
      expect(entry.meaning, code).toMatch(/^[A-Z`].*\.$/);
      expect(entry.meaning, code).not.toContain('\n');
      const rpc = (entry as { jsonrpc?: number }).jsonrpc;
      if (rpc !== undefined) expect(Object.values(JSONRPC), code).toContain(rpc);
      const oauth = (entry as { oauth?: { token_endpoint: { status: number }; resource: { status: number } } }).oauth;
      if (oauth) for (const wire of [oauth.token_endpoint, oauth.resource]) expect([400, 401, 403, 429, 503], code).toContain(wire.status);
    }
  });

  it('gives a MandateError the status of its code', () => {
    expect(new MandateError('ERR_RATE_LIMITED', 'slow down').status).toBe(429);
    expect(new MandateError('ERR_UPSTREAM_TIMEOUT', 'late').status).toBe(504);
    expect(new MandateError('ERR_INTERNAL', 'boom').expose).toBe(false);
  });

  it('renders JSON-RPC errors with the catalogue number and Mandate code', () => {
    expect(jsonRpcError('ERR_MALFORMED_JSON', 'parse error')).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error', data: { code: 'ERR_MALFORMED_JSON' } } });
    expect(jsonRpcError('ERR_ORIGIN_REFUSED', 'foreign Origin refused', 7).error.code).toBe(-32000);
  });

  it('is the source of docs/errors.md (run `npm run docs:errors` after changing it)', () => {
    const doc = fs.readFileSync(path.resolve(SRC, '../docs/errors.md'), 'utf8');
    expect(doc).toBe(errorsMarkdown());
  });
});
