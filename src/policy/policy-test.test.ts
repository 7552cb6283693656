import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { exampleRequest, requestWith } from './example-request.ts';
import { loadPolicySet, type PolicySet } from './policy-set.ts';
import { formatTestReport, parsePolicyTests, runPolicyTests } from './policy-test.ts';
import { starterSources } from './starter.ts';

describe('policy tests (mandate policy test)', () => {
  let set: PolicySet;
  beforeAll(async () => {
    set = loadPolicySet(await starterSources());
  });

  const highImpact = {
    type: 'tool',
    server: 'github',
    name: 'delete_repo',
    highImpact: true,
  } as const;
  const file = stringify({
    cases: [
      {
        name: 'operators file issues',
        request: exampleRequest(),
        expect: 'allow',
        policies: ['role-operator'],
      },
      {
        name: 'deleting a repo asks a person',
        request: requestWith({ resource: highImpact }),
        expect: 'deny',
        approval: 'required',
      },
      {
        name: 'a wrong expectation',
        request: requestWith({ context: { risk: 95 } }),
        expect: 'allow',
        policies: ['role-operator'],
      },
    ],
  });

  it('pass when the decision, the determining policies and the approval match', () => {
    const report = runPolicyTests(set, parsePolicyTests(file));
    expect(report.results.map((r) => [r.name, r.passed])).toEqual([
      ['operators file issues', true],
      ['deleting a repo asks a person', true],
      ['a wrong expectation', false],
    ]);
    expect(report).toMatchObject({
      passed: 2,
      failed: 1,
      version: set.version,
    });
  });

  it('say how a failing case differs from its expectation', () => {
    const report = runPolicyTests(set, parsePolicyTests(file));
    expect(report.results[2]?.failures).toEqual([
      'expected allow, got deny',
      'expected policies [role-operator], got [risk-high]',
    ]);
    const text = formatTestReport(report);
    expect(text).toContain('FAIL  a wrong expectation\n      expected allow, got deny');
    expect(text).toMatch(/2 passed, 1 failed \(policy set sha256:/);
  });

  it('accept AuthZEN request bodies as well', () => {
    const request = {
      subject: {
        type: 'agent',
        id: 'triage-bot',
        properties: { ...exampleRequest().principal.agent, instance: 'i-1' },
      },
      action: { name: 'tools/list' },
      resource: { type: 'server', id: 'github' },
      context: { ...exampleRequest().context, person: 'bob@example.com' },
    };
    const cases = parsePolicyTests(stringify({ cases: [{ name: 'authzen', request, expect: 'allow' }] }));
    expect(runPolicyTests(set, cases).passed).toBe(1);
  });

  it('refuse a cases file that is not YAML or lacks what a case needs, saying where', () => {
    expect(() => parsePolicyTests('cases: [')).toThrow(
      expect.objectContaining({ code: 'ERR_POLICY_TESTS_INVALID' }),
    );
    expect(() =>
      parsePolicyTests(stringify({ cases: [{ name: 'x', request: {}, expect: 'maybe' }] })),
    ).toThrow(
      expect.objectContaining({
        details: [expect.objectContaining({ path: 'cases.0.expect' })],
      }),
    );
  });
});
