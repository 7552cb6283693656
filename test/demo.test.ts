import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const BIN = path.resolve(import.meta.dirname, '../bin/mandate.js');

describe('mandate demo', () => {
  it('tells the whole story non-interactively and exits 0', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [BIN, 'demo'], { env: { PATH: process.env.PATH, NO_COLOR: '1' }, timeout: 90_000 });
    expect(stdout).toMatch(/\[1\/11\] Register agent cards/);
    expect(stdout).toMatch(/tools\/list → echo, get-env, get-sum, trigger-long-running-operation/);
    expect(stdout).toContain('echo → Echo: Hello from ticket 42');
    expect(stdout).toContain('the upstream credential comes back as [REDACTED]');
    expect(stdout).not.toContain('sk-demo-upstream-credential');
    expect(stdout).toContain('this call costs more than the budget left on the mandate');
    expect(stdout).toContain('a person must approve this call');
    expect(stdout).toMatch(/approved apr_[A-Za-z0-9_-]+; the same call now → done/);
    expect(stdout).toMatch(/\d+ events for support-bot, each hash-chained per instance/);
    expect(stdout).toContain('audit verify: every chain and the signed checkpoint check out');
    expect(stdout).toContain('exceeds the parent mandate');
    expect(stdout).toContain('the sub-agent is refused');
    expect(stdout).not.toContain('this should not happen');
    expect(stdout).toMatch(/\[11\/11\] Done/);
  });
});
