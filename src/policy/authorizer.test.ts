import { describe, expect, it } from 'vitest';
import { Authorizer } from './authorizer.ts';
import { DEFAULT_DENY, EVALUATION_FAILED } from './decision.ts';
import { exampleRequest, requestWith } from './example-request.ts';
import { loadPolicySet } from './policy-set.ts';

const setOf = (text: string) => loadPolicySet([{ file: 'p.cedar', text }]);

const PERMIT =
  '@id("permit-calls")\npermit (principal, action == Mandate::Action::"tools/call", resource);\n';
const LIFTABLE = `@id("needs-approval")
@approval("required")
@reason("needs a person")
forbid (principal, action, resource) when { context.risk > 50 };
`;
const HARD = '@id("hard-stop")\nforbid (principal, action, resource) when { context.risk > 80 };\n';

describe.each([{ slicing: true }, { slicing: false }])('an authorizer (slicing: $slicing)', (options) => {
  const decide = (text: string, request = exampleRequest()) =>
    new Authorizer(setOf(text), options).decide(request);

  it('denies by default when no policy permits', () => {
    expect(decide('')).toMatchObject({
      decision: 'deny',
      policies: [],
      obligations: { reasons: [DEFAULT_DENY] },
    });
  });

  it('allows when a permit is satisfied and no forbid is, citing the permit', () => {
    expect(decide(PERMIT)).toMatchObject({
      decision: 'allow',
      policies: ['permit-calls'],
      errors: [],
    });
  });

  it('lets a satisfied forbid override any permit', () => {
    expect(decide(PERMIT + HARD, requestWith({ context: { risk: 90 } }))).toMatchObject({
      decision: 'deny',
      policies: ['hard-stop'],
      obligations: {
        approval: null,
        reasons: ['forbidden by policy hard-stop'],
      },
    });
  });

  it('asks for approval when only liftable forbids stand in the way of a permit', () => {
    expect(decide(PERMIT + LIFTABLE, requestWith({ context: { risk: 60 } }))).toMatchObject({
      decision: 'deny',
      policies: ['needs-approval'],
      obligations: { approval: 'required', reasons: ['needs a person'] },
      liftedByApproval: [],
    });
  });

  it('allows once the approval for the call is granted, recording the lifted forbid', () => {
    expect(
      decide(PERMIT + LIFTABLE, requestWith({ context: { risk: 60, approval: 'granted' } })),
    ).toMatchObject({
      decision: 'allow',
      policies: ['permit-calls'],
      obligations: { approval: null },
      liftedByApproval: ['needs-approval'],
    });
  });

  it('does not let an approval lift a forbid without @approval, even next to a liftable one', () => {
    const d = decide(PERMIT + LIFTABLE + HARD, requestWith({ context: { risk: 90, approval: 'granted' } }));
    expect(d).toMatchObject({
      decision: 'deny',
      policies: ['hard-stop', 'needs-approval'],
      liftedByApproval: [],
    });
    expect(d.obligations.approval).toBeNull();
  });

  it('does not ask for an approval when nothing would permit the call anyway', () => {
    const d = decide(LIFTABLE, requestWith({ context: { risk: 60, approval: 'granted' } }));
    expect(d).toMatchObject({
      decision: 'deny',
      policies: ['needs-approval'],
      obligations: { approval: null },
    });
  });

  it('denies when any policy fails to evaluate, even if a permit is satisfied', () => {
    const overflow =
      '@id("overflow")\npermit (principal, action, resource) when { context.cost * 4611686018427387904 > 0 };';
    const d = decide(PERMIT + overflow);
    expect(d).toMatchObject({ decision: 'deny', policies: ['overflow'] });
    expect(d.errors).toEqual([expect.stringMatching(/^overflow: integer overflow/)]);
    expect(d.obligations.reasons).toEqual([EVALUATION_FAILED]);
  });

  it('denies an invalid request with the reason, instead of throwing', () => {
    const { context } = exampleRequest();
    const { risk: _, ...withoutRisk } = context;
    const d = decide(PERMIT, {
      ...exampleRequest(),
      context: withoutRisk,
    } as never);
    expect(d).toMatchObject({ decision: 'deny', policies: [] });
    expect(d.errors).toEqual([expect.stringMatching(/^invalid request: context\.risk: /)]);
    expect(new Authorizer(setOf(PERMIT), options).decide(null).decision).toBe('deny');
    expect(new Authorizer(setOf(PERMIT), options).decide('tools/call').errors.length).toBeGreaterThan(0);
  });

  it('denies an action on a resource type it does not apply to', () => {
    const d = decide(PERMIT, requestWith({ resource: { type: 'server', server: 'github' } }));
    expect(d.errors).toEqual(['invalid request: resource.type: tools/call applies to Mandate::Tool']);
  });

  it('stamps every decision with the version of the set that made it', () => {
    const authorizer = new Authorizer(setOf(PERMIT), options);
    expect(authorizer.decide(exampleRequest()).version).toBe(setOf(PERMIT).version);
    authorizer.reload(setOf(HARD));
    const d = authorizer.decide(exampleRequest());
    expect(d).toMatchObject({
      decision: 'deny',
      version: setOf(HARD).version,
      policies: [],
    });
  });

  it('reads time of day from the request, else from its clock', () => {
    const night = '@id("night")\npermit (principal, action, resource) when { context.time.hour < 6 };';
    const at3 = () => new Date('2026-03-04T03:00:00Z');
    const { time: _, ...context } = exampleRequest().context;
    const authorizer = new Authorizer(setOf(night), { ...options, now: at3 });
    expect(authorizer.decide({ ...exampleRequest(), context }).decision).toBe('allow');
    expect(authorizer.decide(exampleRequest()).decision).toBe('deny');
  });
});

describe('answers remembered per running set', () => {
  const set = setOf(`${PERMIT}${HARD}`);

  it('gives a remembered answer only to a request the slice’s policies cannot tell apart', () => {
    const remembering = new Authorizer(set);
    const asking = new Authorizer(set, { remember: false });
    const calm = requestWith({ context: { risk: 10 } });
    const otherTrace = requestWith({ context: { risk: 10, trace: 'ffffffffffffffffffffffffffffffff' } });
    const risky = requestWith({ context: { risk: 90 } });
    for (const request of [calm, otherTrace, risky, calm, risky]) {
      const remembered = remembering.decide(request);
      const asked = asking.decide(request);
      expect([remembered.decision, remembered.policies]).toEqual([asked.decision, asked.policies]);
    }
    expect(remembering.decide(risky)).toMatchObject({ decision: 'deny', policies: ['hard-stop'] });
    expect(remembering.decide(calm).decision).toBe('allow');
  });

  it('forgets them when a new set runs', () => {
    const authorizer = new Authorizer(set);
    expect(authorizer.decide(requestWith({ context: { risk: 10 } })).decision).toBe('allow');
    authorizer.reload(setOf(HARD));
    expect(authorizer.decide(requestWith({ context: { risk: 10 } })).decision).toBe('deny');
  });
});
