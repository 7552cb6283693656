import { beforeAll, describe, expect, it } from 'vitest';
import { Authorizer } from './authorizer.ts';
import { DEFAULT_DENY } from './decision.ts';
import { requestWith } from './example-request.ts';
import { loadPolicySet } from './policy-set.ts';
import { starterSources } from './starter.ts';

describe('the starter policies', () => {
  let authorizer: Authorizer;
  beforeAll(async () => {
    authorizer = new Authorizer(loadPolicySet(await starterSources()));
  });

  it('let an operator call a tool of a server its card lists, for a person, in prod', () => {
    const d = authorizer.decide(requestWith({}));
    expect(d).toMatchObject({
      decision: 'allow',
      policies: ['role-operator'],
      errors: [],
    });
    expect(d.obligations).toEqual({ approval: null, reasons: [] });
  });

  it('deny by default a tool outside the card toolset', () => {
    const resource = {
      type: 'tool',
      server: 'slack',
      name: 'post',
      highImpact: false,
    } as const;
    const d = authorizer.decide(requestWith({ resource }));
    expect(d).toMatchObject({
      decision: 'deny',
      policies: [],
      obligations: { reasons: [DEFAULT_DENY] },
    });
  });

  it('let a card that lists one endpoint reach that endpoint and no other of the connection', () => {
    const refund = {
      type: 'endpoint',
      connection: 'stripe',
      name: 'refunds.create',
      highImpact: false,
    } as const;
    const charge = { ...refund, name: 'charges.create' };
    expect(authorizer.decide(requestWith({ action: 'http:request', resource: refund })).decision).toBe(
      'allow',
    );
    expect(authorizer.decide(requestWith({ action: 'http:request', resource: charge })).decision).toBe(
      'deny',
    );
  });

  it('let a reader list the tools of a server but not call them', () => {
    const principal = { roles: ['reader'] };
    const server = { type: 'server', server: 'github' } as const;
    expect(
      authorizer.decide(requestWith({ principal, action: 'tools/list', resource: server })),
    ).toMatchObject({
      decision: 'allow',
      policies: ['role-reader'],
    });
    expect(authorizer.decide(requestWith({ principal })).decision).toBe('deny');
  });

  it('refuse any prod call without an on-behalf-of person, saying why', () => {
    const d = authorizer.decide(requestWith({ person: null }));
    expect(d).toMatchObject({
      decision: 'deny',
      policies: ['prod-requires-person'],
    });
    expect(d.obligations.reasons).toEqual(['in prod, an agent acts only on behalf of a named person']);
  });

  it('allow the same call without a person in dev', () => {
    const d = authorizer.decide(
      requestWith({
        person: null,
        principal: { environment: 'dev' },
        context: { environment: 'dev' },
      }),
    );
    expect(d.decision).toBe('allow');
  });

  it('refuse a prod call by an agent without an owner', () => {
    const d = authorizer.decide(requestWith({ principal: { owner: null } }));
    expect(d).toMatchObject({
      decision: 'deny',
      policies: ['prod-requires-owner'],
    });
  });

  it('ask for approval before a high-impact tool call, and allow it once approval is granted', () => {
    const resource = {
      type: 'tool',
      server: 'github',
      name: 'delete_repo',
      highImpact: true,
    } as const;
    const asked = authorizer.decide(requestWith({ resource }));
    expect(asked).toMatchObject({
      decision: 'deny',
      policies: ['high-impact-needs-approval'],
    });
    expect(asked.obligations).toEqual({
      approval: 'required',
      reasons: ['this is a high-impact action: a person must approve this call'],
    });
    const approved = authorizer.decide(requestWith({ resource, context: { approval: 'granted' } }));
    expect(approved).toMatchObject({
      decision: 'allow',
      policies: ['role-operator'],
      liftedByApproval: ['high-impact-needs-approval'],
      obligations: { approval: null },
    });
  });

  it('never let an approval lift a forbid that does not ask for one', () => {
    const resource = {
      type: 'tool',
      server: 'github',
      name: 'delete_repo',
      highImpact: true,
    } as const;
    const d = authorizer.decide(requestWith({ resource, context: { approval: 'granted', risk: 90 } }));
    expect(d).toMatchObject({
      decision: 'deny',
      obligations: { approval: null },
      liftedByApproval: [],
    });
    expect(d.policies).toEqual(['high-impact-needs-approval', 'risk-high']);
  });

  it('not ask for an approval that could not help: nothing permits the call', () => {
    const resource = {
      type: 'tool',
      server: 'jira',
      name: 'delete_project',
      highImpact: true,
    } as const;
    const d = authorizer.decide(requestWith({ resource }));
    expect(d).toMatchObject({
      decision: 'deny',
      policies: ['high-impact-needs-approval'],
    });
    expect(d.obligations.approval).toBeNull();
    expect(d.obligations.reasons).toContain(DEFAULT_DENY);
  });

  it('refuse a call that costs more than the budget left', () => {
    const resource = {
      type: 'tool',
      server: 'github',
      name: 'create_issue',
      highImpact: false,
      cost: 501,
    } as const;
    expect(authorizer.decide(requestWith({ resource })).policies).toEqual(['budget-exceeded']);
  });

  it('refuse expensive calls when less than 10% of the budget is left, but not cheap ones', () => {
    const low = { budget: { remaining: 400, percent: 9.9 } };
    const expensive = {
      type: 'tool',
      server: 'github',
      name: 'search',
      highImpact: false,
      cost: 150,
    } as const;
    const cheap = { ...expensive, cost: 5 };
    expect(authorizer.decide(requestWith({ resource: expensive, context: low })).policies).toEqual([
      'budget-low',
    ]);
    expect(authorizer.decide(requestWith({ resource: cheap, context: low })).decision).toBe('allow');
  });

  it('deny everything at risk 70 or more', () => {
    expect(authorizer.decide(requestWith({ context: { risk: 69 } })).decision).toBe('allow');
    expect(authorizer.decide(requestWith({ context: { risk: 70 } }))).toMatchObject({
      decision: 'deny',
      policies: ['risk-high'],
    });
  });

  it('let an orchestrator delegate to a same-environment sub-agent, within three hops', () => {
    const child = {
      id: 'summarizer',
      roles: ['reader'],
      owner: 'alice@example.com',
      environment: 'prod',
      toolset: [],
    };
    const request = (depth: number, environment: 'prod' | 'dev' = 'prod') =>
      requestWith({
        principal: { roles: ['orchestrator'] },
        action: 'delegate',
        resource: { type: 'agent', agent: { ...child, environment } },
        context: { delegation: { depth, chain: ['i-7f3a'] } },
      });
    expect(authorizer.decide(request(2)).decision).toBe('allow');
    expect(authorizer.decide(request(3)).decision).toBe('deny');
    expect(authorizer.decide(request(0, 'dev')).decision).toBe('deny');
  });

  it('let any agent get a mandate for an audience in its toolset', () => {
    const audience = { type: 'connection', connection: 'stripe' } as const;
    expect(authorizer.decide(requestWith({ action: 'token:exchange', resource: audience })).decision).toBe(
      'allow',
    );
    const other = { type: 'server', server: 'slack' } as const;
    expect(authorizer.decide(requestWith({ action: 'token:exchange', resource: other })).decision).toBe(
      'deny',
    );
  });
});
