import { describe, expect, it } from 'vitest';
import { Authorizer } from './authorizer.ts';
import type { Decision } from './decision.ts';
import { loadPolicySet } from './policy-set.ts';
import { DENSE, syntheticPolicies, syntheticRequests, WIDE } from './synthetic.ts';

const essence = (d: Decision) => ({
  decision: d.decision,
  policies: d.policies,
  errors: d.errors,
  obligations: d.obligations,
  liftedByApproval: d.liftedByApproval,
});

describe('slicing the policy set', () => {
  const seen = { allow: 0, deny: 0, required: 0, lifted: 0, errors: 0 };

  it.each([
    { policies: 40, seed: 1, pools: DENSE },
    { policies: 150, seed: 2, pools: DENSE },
    { policies: 400, seed: 4, pools: WIDE },
  ])('never changes a decision: $policies generated policies, 1,500 generated requests', ({ policies, seed, pools }) => {
    const set = loadPolicySet(syntheticPolicies(policies, seed, pools));
    const sliced = new Authorizer(set);
    const full = new Authorizer(set, { slicing: false });
    for (const [i, request] of syntheticRequests(1500, seed * 7919, pools).entries()) {
      const expected = full.decide(request);
      const actual = sliced.decide(request);
      if (JSON.stringify(essence(actual)) !== JSON.stringify(essence(expected))) {
        expect({ request: i, ...essence(actual) }).toEqual({ request: i, ...essence(expected) });
      }
      seen[expected.decision] += 1;
      if (expected.obligations.approval === 'required') seen.required += 1;
      if (expected.liftedByApproval.length > 0) seen.lifted += 1;
      if (expected.errors.length > 0) seen.errors += 1;
    }
  });

  it('was checked on every row of the truth table, or the comparison proves little', () => {
    expect(seen.allow).toBeGreaterThan(500);
    expect(seen.deny).toBeGreaterThan(500);
    expect(seen.required).toBeGreaterThan(50);
    expect(seen.lifted).toBeGreaterThan(50);
    expect(seen.errors).toBeGreaterThan(10);
  });
});
