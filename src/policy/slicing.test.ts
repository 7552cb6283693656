import { describe, expect, it } from 'vitest';
import { Authorizer } from './authorizer.ts';
import type { Decision } from './decision.ts';
import type { PolicySource } from './policy-file.ts';
import { loadPolicySet } from './policy-set.ts';
import type { DecisionRequest } from './request.ts';
import {
  DENSE,
  deploymentPolicies,
  deploymentRequests,
  syntheticPolicies,
  syntheticRequests,
  WIDE,
} from './synthetic/index.ts';

const essence = (d: Decision) => ({
  decision: d.decision,
  policies: d.policies,
  errors: d.errors,
  obligations: d.obligations,
  liftedByApproval: d.liftedByApproval,
});

describe('slicing the policy set', () => {
  const seen = { allow: 0, deny: 0, required: 0, lifted: 0, errors: 0 };

  const cases: {
    name: string;
    policies: () => PolicySource[];
    requests: () => DecisionRequest[];
  }[] = [
    {
      name: '40 policies of every shape, over a small world',
      policies: () => syntheticPolicies(40, 1, DENSE),
      requests: () => syntheticRequests(1500, 7919, DENSE),
    },
    {
      name: '150 policies of every shape, over a small world',
      policies: () => syntheticPolicies(150, 2, DENSE),
      requests: () => syntheticRequests(1000, 2 * 7919, DENSE),
    },
    {
      name: '120 policies of every shape, over a wider world',
      policies: () => syntheticPolicies(120, 4, WIDE),
      requests: () => syntheticRequests(1000, 4 * 7919, WIDE),
    },
    {
      name: '1,000 policies shaped like a deployment',
      policies: () => deploymentPolicies(1000, 1000),
      requests: () => deploymentRequests(1000, 1001, 1000),
    },
  ];

  it.each(cases)(
    'never changes a decision or its reasons: $name',
    ({ policies, requests }) => {
      const set = loadPolicySet(policies());
      const sliced = new Authorizer(set);
      const full = new Authorizer(set, { slicing: false });
      for (const [i, request] of requests().entries()) {
        const expected = full.decide(request);
        const actual = sliced.decide(request);
        if (JSON.stringify(essence(actual)) !== JSON.stringify(essence(expected))) {
          expect({ request: i, ...essence(actual) }).toEqual({
            request: i,
            ...essence(expected),
          });
        }
        seen[expected.decision] += 1;
        if (expected.obligations.approval === 'required') seen.required += 1;
        if (expected.liftedByApproval.length > 0) seen.lifted += 1;
        if (expected.errors.length > 0) seen.errors += 1;
      }
    },
    180_000,
  );

  it('was checked on every row of the truth table, or the comparison proves little', () => {
    expect(seen.allow).toBeGreaterThan(500);
    expect(seen.deny).toBeGreaterThan(500);
    expect(seen.required).toBeGreaterThan(50);
    expect(seen.lifted).toBeGreaterThan(50);
    expect(seen.errors).toBeGreaterThan(10);
  });
});

describe('the preparsed slices', () => {
  it('may be evicted and preparsed again without changing a decision', () => {
    const set = loadPolicySet(syntheticPolicies(60, 9, DENSE));
    const tiny = new Authorizer(set, { maxSlices: 3 });
    const full = new Authorizer(set, { slicing: false });
    for (const request of syntheticRequests(300, 99, DENSE)) {
      expect(essence(tiny.decide(request))).toEqual(essence(full.decide(request)));
    }
  }, 60_000);
});

describe("slicing with the person's groups", () => {
  const sources: PolicySource[] = [
    {
      file: 'persons.cedar',
      text: `@id("operators-call")
permit (principal, action == Mandate::Action::"tools/call", resource)
when { context has person && context.person in Mandate::Group::"operators" };
@id("no-interns-on-high-impact")
forbid (principal, action == Mandate::Action::"tools/call", resource)
when { resource.highImpact && context has person && context.person in [Mandate::Group::"interns", Mandate::Group::"contractors"] };
@id("budget-low")
forbid (principal, action == Mandate::Action::"tools/call", resource)
when { context has budget && context.budget.percent < 5 };`,
    },
  ];
  const request = (groups: string[] | undefined, highImpact: boolean, person: string | null = 'dora@example.com'): DecisionRequest => ({
    principal: { instance: 'i-1', agent: { id: 'bot', roles: [], owner: null, environment: 'dev', toolset: ['github'] } },
    person,
    ...(groups ? { personGroups: groups } : {}),
    action: 'tools/call',
    resource: { type: 'tool', server: 'github', name: 'merge', highImpact },
    context: { scope: [], delegation: { depth: 0, chain: [] }, environment: 'dev', risk: 0, approval: 'none', budget: { remaining: 50, percent: 50 } },
  });

  it('decides on the groups, the same sliced (and remembered) as in full, one request after another', () => {
    const set = loadPolicySet(sources);
    const sliced = new Authorizer(set);
    const full = new Authorizer(set, { slicing: false });
    const cases: [DecisionRequest, 'allow' | 'deny'][] = [
      [request(['operators'], true), 'allow'],
      [request(['staff'], true), 'deny'],
      [request(['operators', 'interns'], true), 'deny'],
      [request(['operators', 'interns'], false), 'allow'],
      [request(undefined, false), 'deny'],
      [request(['operators'], false), 'allow'],
      [request(['operators'], false, null), 'deny'],
      [request(['contractors', 'operators'], true), 'deny'],
    ];
    for (const [i, [input, expected]] of [...cases, ...cases].entries()) {
      const decided = sliced.decide(input);
      expect({ i, decision: decided.decision }).toEqual({ i, decision: expected });
      expect(essence(decided)).toEqual(essence(full.decide(input)));
    }
  });
});
