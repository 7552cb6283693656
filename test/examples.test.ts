import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin/mandate.js');
const run = (args: string[]) => promisify(execFile)(process.execPath, args, { cwd: ROOT, env: { PATH: process.env.PATH, NO_COLOR: '1' }, timeout: 60_000 });

describe('examples', () => {
  it.each([
    ['mcp-agent', ['tools/list → echo', 'echo → Echo: Hello through Mandate', 'OK: the MCP agent listed its tools and called echo through the gateway']],
    ['http-broker', ['upstream saw the injected secret: yes', "agent's response contains the secret: no", 'OK: the agent called the API through the broker without ever holding its credential']],
    ['delegation', ['wider child mandate refused: invalid_scope', 'child introspection after revoking the parent: {"active":false}', 'OK: narrower delegation granted, wider refused, revoking the parent ended the child']],
    ['agent-to-agent', ['billing answered through Mandate: invoice for customer 42', 'scope http:ledger:GET:/invoices/**', 'tasks/cancel refused: the mandate does not cover a2a:billing/tasks/cancel', 'OK: the planner called the billing agent through Mandate']],
  ])('%s runs to completion and exits 0', async (name, lines) => {
    // execFile rejects on a non-zero exit or a timeout, failing the test.
    const { stdout } = await run([path.join(ROOT, 'examples', name, 'main.ts')]);
    for (const line of lines) expect(stdout).toContain(line);
    expect(stdout).not.toContain('sk-upstream-api-key');
  }, 70_000);

  it('policies validate', async () => {
    const { stdout } = await run([BIN, 'policy', 'validate', 'examples/policies']);
    expect(stdout).toMatch(/^valid: \d+ policies/);
  }, 70_000);

  it('policy cases pass', async () => {
    const { stdout } = await run([BIN, 'policy', 'test', 'examples/policies/cases.yaml', '--dir', 'examples/policies']);
    expect(stdout).toMatch(/\d+ passed, 0 failed/);
    expect(stdout).not.toContain('FAIL');
  }, 70_000);
});
