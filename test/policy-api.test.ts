import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register } from './fixtures.ts';
import { readJson, startTestServer, type TestServer, tempDir } from './harness.ts';

const BIN = path.resolve(import.meta.dirname, '../bin/mandate.js');
const run = async (args: string[], env: NodeJS.ProcessEnv) => {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], { env, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
};

const authzen = (tool: string) => ({
  subject: { type: 'agent', id: 'reader-bot', properties: { instance: 'i-1' } },
  action: { name: 'tools/call' },
  resource: { type: 'tool', id: `github/${tool}`, properties: { highImpact: false, cost: 1 } },
  context: { scope: [`tool:github/${tool}`], delegation: { depth: 0, chain: ['i-1'] }, environment: 'dev', risk: 0, approval: 'none' },
});

describe('policy over HTTP and the CLI', () => {
  let server: TestServer;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    server = await startTestServer('sqlite');
    await register(server, { id: 'reader-bot', name: 'Reader', roles: ['operator'], toolset: ['tool:github/search'] });
    env = { PATH: process.env.PATH, MANDATE_ADDR: server.url, MANDATE_TOKEN: server.token, MANDATE_DATA_DIR: server.dataDir };
  });
  afterAll(() => server.close());

  it('answers AuthZEN-style requests from the registry card, not the caller’s claims', async () => {
    const allowed = await readJson(await server.api('POST', '/v1/authorize', authzen('search')));
    expect(allowed.decision).toBe(true);
    const outside = await readJson(await server.api('POST', '/v1/authorize', authzen('delete_repo')));
    expect(outside.decision).toBe(false);
    const unknown = await readJson(await server.api('POST', '/v1/authorize', { ...authzen('search'), subject: { type: 'agent', id: 'ghost', properties: { instance: 'i-1' } } }));
    expect(unknown.decision).toBe(false);
  });

  it('refuses names not in their canonical form at /v1/authorize and explain, with one code', async () => {
    const base = authzen('search');
    const bodies = [
      { ...base, subject: { ...base.subject, id: 'reader-bot\u0000' } },
      { ...base, subject: { ...base.subject, id: ' reader-bot' } },
      { ...base, subject: { ...base.subject, properties: { instance: 'i-1\u202e' } } },
      { ...base, action: { name: 'tools/call\n' } },
      { ...base, resource: { ...base.resource, id: 'github/search\u200b' } },
      { ...base, resource: { ...base.resource, id: 'github/cafe\u0301' } },
      { ...base, context: { ...base.context, person: 'alice@example.com\t' } },
    ];
    for (const body of bodies) {
      for (const route of ['/v1/authorize', '/v1/policies/explain']) {
        const res = await server.api('POST', route, body);
        expect({ route, body, status: res.status, code: (await readJson(res)).code }).toEqual({ route, body, status: 400, code: 'ERR_IDENTIFIER_NOT_CANONICAL' });
      }
    }
    const decisionRequest = { principal: { instance: 'i-1', agent: { id: 'reader-bot\u0007' } }, person: null, action: 'tools/call', resource: { type: 'tool', server: 'github', name: 'search', highImpact: false }, context: base.context };
    expect((await readJson(await server.api('POST', '/v1/policies/explain', decisionRequest))).code).toBe('ERR_IDENTIFIER_NOT_CANONICAL');
  });

  it('explains on exactly the inputs /v1/authorize decides on, so the explanation never contradicts the decision', async () => {
    // The caller claims a wider card (and the narrower one) than the registry holds.
    const claims = (tool: string, properties: object) => {
      const body = authzen(tool);
      return { ...body, subject: { ...body.subject, properties: { ...body.subject.properties, ...properties } } };
    };
    const wider = claims('delete_repo', { roles: ['operator', 'admin'], toolset: ['tool:github/*'], environment: 'dev', owner: null });
    const narrower = claims('search', { roles: [], toolset: [] });
    const ghost = { ...authzen('search'), subject: { type: 'agent', id: 'ghost', properties: { instance: 'i-1', roles: ['operator'], toolset: ['tool:github/*'], environment: 'dev', owner: null } } };
    const asDecisionRequest = {
      principal: { instance: 'i-1', agent: { id: 'reader-bot', roles: ['operator'], owner: null, environment: 'dev', toolset: ['github/*'] } },
      person: null,
      action: 'tools/call',
      resource: { type: 'tool', server: 'github', name: 'delete_repo', highImpact: false },
      context: wider.context,
    };
    const outcomes = [];
    for (const body of [wider, narrower, ghost]) {
      const decided = (await readJson(await server.api('POST', '/v1/authorize', body))).decision;
      const explained = await readJson(await server.api('POST', '/v1/policies/explain', body));
      outcomes.push([decided, explained.decision.decision === 'allow']);
    }
    expect(outcomes).toEqual([
      [false, false],
      [true, true],
      [false, false],
    ]);
    const fromCard = await readJson(await server.api('POST', '/v1/policies/explain', asDecisionRequest));
    expect(fromCard.decision.decision).toBe('deny');
    expect(fromCard.text).toContain('resource  Mandate::Tool::"github/delete_repo"');
    // The CLI asks the server the same question.
    const file = path.join(tempDir(), 'wider.json');
    fs.writeFileSync(file, JSON.stringify(wider));
    const cli = await run(['policy', 'explain', '--server', file], env);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(/^DENY {2}\(policy set sha256:/);
  });

  it('validates a directory offline and refuses a broken file with its location', async () => {
    const ok = await run(['policy', 'validate'], env);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^valid: \d+ policies, version sha256:/);
    const bad = tempDir();
    fs.writeFileSync(path.join(bad, 'broken.cedar'), 'permit (principal, action, resource)\nwhen { context.nope == 1 ;\n');
    const broken = await run(['policy', 'validate', bad], env);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/broken\.cedar:\d+:\d+/);
  });

  it('types context.args offline from --arguments, explains which argument decided, and warns of a policy on an argument nothing declares', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'roles.cedar'), '@id("calls")\npermit (principal, action, resource);\n');
    fs.writeFileSync(path.join(dir, 'refunds.cedar'), '@id("refund-limit")\n@reason("refunds above 50 need a person")\nforbid (principal, action, resource) when { context has args && context.args has amount && context.args.amount > 50 };\n');
    const schemas = path.join(dir, 'arguments.json');
    fs.writeFileSync(schemas, JSON.stringify({ 'orders/refund': { type: 'object', properties: { amount: { type: 'integer' }, meta: { type: 'object' } } } }));
    const untyped = await run(['policy', 'validate', dir], env);
    expect(untyped.stdout).toContain('warning: refunds.cedar:1:1: refund-limit: policy is impossible');
    const typed = await run(['policy', 'validate', dir, '--arguments', schemas], env);
    expect([typed.code, typed.stdout.includes('warning'), typed.stderr]).toEqual([0, false, 'note: orders/refund meta: is an object without properties (a map)\n']);
    const request = path.join(dir, 'request.json');
    const question = {
      principal: { instance: 'i-1', agent: { id: 'reader-bot', roles: ['operator'], owner: null, environment: 'dev', toolset: ['orders/*'] } },
      person: null,
      action: 'tools/call',
      resource: { type: 'tool', server: 'orders', name: 'refund', highImpact: false },
      context: { scope: ['tool:orders/*'], delegation: { depth: 0, chain: ['i-1'] }, environment: 'dev', risk: 0, approval: 'none', args: { amount: 60 } },
    };
    fs.writeFileSync(request, JSON.stringify(question));
    const explained = await run(['policy', 'explain', '--dir', dir, '--arguments', schemas, request], env);
    expect(explained.stdout).toMatch(/^DENY /);
    expect(explained.stdout).toMatch(/forbid satisfied +refund-limit {2}refunds\.cedar:1:1\n +reads context\.args\.amount = 60\n/);
  });

  it('applies a new set only when it is valid, and the running decision changes with it', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'deny-all.cedar'), '@id("nothing")\n@reason("maintenance")\nforbid (principal, action, resource);\n');
    const applied = await run(['policy', 'apply', dir], env);
    expect(applied.code).toBe(0);
    expect(applied.stdout).toMatch(/^applied: version sha256:/);
    expect((await readJson(await server.api('POST', '/v1/authorize', authzen('search')))).decision).toBe(false);
    fs.writeFileSync(path.join(dir, 'deny-all.cedar'), 'forbid (principal, action resource);');
    const refused = await run(['policy', 'apply', dir], env);
    expect(refused.code).toBe(1);
    const running = await readJson(await server.api('GET', '/v1/policies'));
    expect(running.policies).toEqual(['nothing']);
    expect(server.audit.ofType('policy.applied')).toHaveLength(1);
  });
});
