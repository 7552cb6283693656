/**
 * `mandate policy test cases.yaml`: expected decisions checked against a policy set, like `opa test`.
 *
 *   cases:
 *     - name: operators may file issues
 *       request: { principal: …, person: …, action: tools/call, resource: …, context: … }
 *       expect: allow
 *       policies: [role-operator]        # optional: the determining policies, in any order
 *       approval: required               # optional: the approval obligation (required | none)
 *
 * A request may also be an AuthZEN body (`subject`, `action`, `resource`, `context`).
 */
import { parse } from 'yaml';
import { z } from 'zod';
import { refusal } from '../errors.ts';
import { Authorizer } from './authorizer.ts';
import { authorizeAuthZen } from './authzen.ts';
import type { Decision } from './decision.ts';
import type { PolicySet } from './policy-set.ts';
import { issuesOf } from './request.ts';

const casesSchema = z.strictObject({
  cases: z.array(
    z.strictObject({
      name: z.string().min(1),
      request: z.record(z.string(), z.unknown()),
      expect: z.enum(['allow', 'deny']),
      policies: z.array(z.string()).optional(),
      approval: z.enum(['required', 'none']).optional(),
    }),
  ),
});

export type PolicyTestCase = z.infer<typeof casesSchema>['cases'][number];

export interface CaseResult {
  readonly name: string;
  readonly passed: boolean;
  /** Each way the decision differs from the expectation. */
  readonly failures: readonly string[];
  readonly decision: Decision;
}

export interface TestReport {
  readonly version: string;
  readonly passed: number;
  readonly failed: number;
  readonly results: readonly CaseResult[];
}

/** @throws MandateError `ERR_POLICY_TESTS_INVALID` (400) when the file is not a valid cases file. */
export function parsePolicyTests(yamlText: string): PolicyTestCase[] {
  let document: unknown;
  try {
    document = parse(yamlText);
  } catch (error) {
    throw refusal('ERR_POLICY_TESTS_INVALID', `The cases file is not YAML: ${(error as Error).message}`);
  }
  const parsed = casesSchema.safeParse(document);
  if (!parsed.success) {
    const details = issuesOf(parsed.error);
    throw refusal(
      'ERR_POLICY_TESTS_INVALID',
      `Invalid cases file: ${details[0]?.path}: ${details[0]?.message}`,
      details,
    );
  }
  return parsed.data.cases;
}

export function runPolicyTests(
  set: PolicySet,
  cases: readonly PolicyTestCase[],
  now?: () => Date,
): TestReport {
  const authorizer = new Authorizer(set, now === undefined ? {} : { now });
  const results = cases.map((c) => {
    const decision =
      'subject' in c.request ? authorizeAuthZen(authorizer, c.request) : authorizer.decide(c.request);
    const failures = failuresOf(c, decision);
    return { name: c.name, passed: failures.length === 0, failures, decision };
  });
  const passed = results.filter((r) => r.passed).length;
  return {
    version: set.version,
    passed,
    failed: results.length - passed,
    results,
  };
}

function failuresOf(c: PolicyTestCase, d: Decision): string[] {
  const failures: string[] = [];
  if (d.decision !== c.expect) failures.push(`expected ${c.expect}, got ${d.decision}`);
  if (c.policies !== undefined) {
    const expected = [...c.policies].sort();
    if (JSON.stringify(expected) !== JSON.stringify([...d.policies].sort())) {
      failures.push(`expected policies [${expected.join(', ')}], got [${d.policies.join(', ')}]`);
    }
  }
  const approval = d.obligations.approval ?? 'none';
  if (c.approval !== undefined && c.approval !== approval) {
    failures.push(`expected approval ${c.approval}, got ${approval}`);
  }
  if (failures.length > 0 && d.errors.length > 0) failures.push(...d.errors.map((e) => `error: ${e}`));
  return failures;
}

/** `PASS`/`FAIL` lines and a summary, as `mandate policy test` prints them. */
export function formatTestReport(report: TestReport): string {
  const lines = report.results.flatMap((r) => [
    `${r.passed ? 'PASS' : 'FAIL'}  ${r.name}`,
    ...r.failures.map((f) => `      ${f}`),
  ]);
  lines.push('', `${report.passed} passed, ${report.failed} failed (policy set ${report.version})`);
  return lines.join('\n');
}
