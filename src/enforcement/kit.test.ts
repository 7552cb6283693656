import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DECISION_PATH } from './pipeline.ts';

/**
 * Fitness tests: every enforcement point goes through this kit and its one decision path. An
 * enforcement point that builds its own challenge, metadata, Origin check or verification again,
 * or a second copy of the path, fails here.
 */
const src = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
/** The adapters over the kit. */
const ADAPTERS = ['gateway', 'broker', 'a2a'];

const sources = (folder: string) =>
  readdirSync(path.join(src, folder), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => ({ file: `${folder}/${f.split(path.sep).join('/')}`, code: withoutComments(readFileSync(path.join(src, folder, f), 'utf8')) }));

const withoutComments = (code: string) => code.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');

const offending = (folders: string[], pattern: RegExp) => folders.flatMap(sources).filter(({ code }) => pattern.test(code)).map(({ file }) => file);

describe('the enforcement-point kit', () => {
  it('is the only place that builds a DPoP challenge or RFC 9728 metadata', () => {
    expect(offending(ADAPTERS, /\.header\(\s*['"]www-authenticate|resource_metadata=|oauth-protected-resource|authorization_servers/i)).toEqual([]);
  });

  it('is the only place that checks the Origin header or verifies a presented mandate', () => {
    expect(offending(ADAPTERS, /headers\.origin|headers\[['"]origin['"]\]|verifyPresentedMandate|refusedHolder|toOAuthError/)).toEqual([]);
  });

  it('builds every resource identifier from its resource kind', () => {
    expect(offending(ADAPTERS, /\$\{ctx\.issuer\}\/(mcp|broker|a2a)/)).toEqual([]);
  });

  it('takes what it needs from the host as its own interface, never from the server', () => {
    expect(offending(['enforcement'], /from '\.\.\/server\//)).toEqual([]);
  });
});

describe('the decision path', () => {
  it('is one declared list of named steps', () => {
    expect(DECISION_PATH.map((s) => s.name)).toEqual(['rate', 'scope', 'records', 'budget', 'behavior', 'policy', 'approval', 'commit', 'audit', 'settle']);
    const declared = sources('enforcement').filter(({ code }) => /\bStep\[\]\s*=\s*\[/.test(code));
    expect(declared.map(({ file }) => file)).toEqual(['enforcement/pipeline.ts']);
  });

  it('runs its steps only through that list', () => {
    const folders = ['enforcement', 'governance', ...ADAPTERS];
    expect(offending(folders, /from '\.\/steps\.ts'|from '\.\.\/enforcement\/steps\.ts'/)).toEqual(['enforcement/pipeline.ts']);
    // Governance answers the steps; only the steps ask it, and only the policy step asks Cedar.
    expect(offending(folders, /governor\.(limitRate|standing|behavior|resolve|commit)\(/).filter((f) => !f.startsWith('governance/'))).toEqual(['enforcement/steps.ts']);
    expect(offending(folders, /authorizer\.decide\(/)).toEqual(['enforcement/steps.ts']);
  });
});
