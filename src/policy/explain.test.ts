import { beforeAll, describe, expect, it } from 'vitest';
import { requestWith } from './example-request.ts';
import { explain } from './explain.ts';
import { loadPolicySet, type PolicySet } from './policy-set.ts';
import { starterSources } from './starter.ts';

describe('explaining a decision (mandate policy explain)', () => {
  let set: PolicySet;
  beforeAll(async () => {
    set = loadPolicySet(await starterSources());
  });

  it('gives the decision and each policy that could apply, evaluated alone', () => {
    const resource = {
      type: 'tool',
      server: 'github',
      name: 'delete_repo',
      highImpact: true,
    } as const;
    const { decision, policies, text } = explain(set, requestWith({ resource, context: { risk: 75 } }));
    expect(decision).toMatchObject({
      decision: 'deny',
      policies: ['high-impact-needs-approval', 'risk-high'],
    });
    const verdicts = Object.fromEntries(policies.map((p) => [p.policy.id, p.verdict]));
    expect(verdicts).toMatchObject({
      'role-operator': 'satisfied',
      'high-impact-needs-approval': 'satisfied',
      'risk-high': 'satisfied',
      'budget-exceeded': 'not satisfied',
    });
    expect(verdicts).not.toHaveProperty('role-orchestrator');
    expect(text).toMatch(/^DENY {2}\(policy set sha256:/);
    expect(text).toContain('resource  Mandate::Tool::"github/delete_repo"');
    expect(text).toContain('determined by: high-impact-needs-approval, risk-high');
    expect(text).toMatch(/forbid satisfied {5}risk-high {2}risk\.cedar:\d+:1/);
  });

  it("names the person's groups, and evaluates a policy on them as the decision does", () => {
    const rule = `@id("high-impact-needs-operator-person")
forbid (principal, action in Mandate::Action::"call", resource)
when { resource.highImpact }
unless { context has person && context.person in Mandate::Group::"operators" };`;
    const withRule = loadPolicySet([...set.sources, { file: 'persons.cedar', text: rule }]);
    const resource = { type: 'tool', server: 'github', name: 'delete_repo', highImpact: true } as const;
    const approved = { context: { approval: 'granted' as const } };
    const operator = explain(withRule, { ...requestWith({ resource, ...approved }), personGroups: ['operators', 'staff'] });
    expect(operator.decision.decision).toBe('allow');
    expect(operator.text).toContain('person    Mandate::User::"bob@example.com" in Mandate::Group::"operators", Mandate::Group::"staff"');
    expect(operator.policies.find((p) => p.policy.id === 'high-impact-needs-operator-person')?.verdict).toBe('not satisfied');
    const other = explain(withRule, { ...requestWith({ resource, ...approved }), personGroups: ['staff'] });
    expect(other.decision).toMatchObject({ decision: 'deny', policies: ['high-impact-needs-approval', 'high-impact-needs-operator-person'] });
    expect(other.policies.find((p) => p.policy.id === 'high-impact-needs-operator-person')?.verdict).toBe('satisfied');
    expect(explain(withRule, requestWith({ resource, ...approved })).text).toContain('person    Mandate::User::"bob@example.com" (in no group)');
  });

  it('takes an AuthZEN body as well', () => {
    const { principal, context, person } = requestWith({});
    const body = {
      subject: {
        type: 'agent',
        id: principal.agent.id,
        properties: { ...principal.agent, instance: principal.instance },
      },
      action: { name: 'tools/call' },
      resource: { type: 'tool', id: 'github/create_issue', properties: { highImpact: false } },
      context: { ...context, person },
    };
    const { decision, text } = explain(set, body);
    expect(decision).toMatchObject({ decision: 'allow', policies: ['role-operator'] });
    expect(text).toContain('principal Mandate::Instance::"i-7f3a"');
  });

  it('explains an invalid request by its validation errors', () => {
    const { text, policies } = explain(set, { action: 'tools/call' });
    expect(policies).toEqual([]);
    expect(text).toContain('error: invalid request: principal: ');
  });
});
