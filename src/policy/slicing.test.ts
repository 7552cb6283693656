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
