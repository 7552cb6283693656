import { beforeAll, describe, expect, it } from 'vitest';
import { Authorizer } from './authorizer.ts';
import { authorizeAuthZen, toAuthZen } from './authzen.ts';
import { loadPolicySet } from './policy-set.ts';
import { starterSources } from './starter.ts';

const body = () => ({
  subject: {
    type: 'agent',
    id: 'triage-bot',
    properties: {
      instance: 'i-7f3a',
      roles: ['operator'],
      owner: 'alice@example.com',
      environment: 'prod',
      toolset: ['github'],
      department: 'support',
    },
  },
  action: { name: 'tools/call' },
  resource: {
    type: 'tool',
    id: 'github/create_issue',
    properties: { highImpact: false, cost: 2 },
  },
  context: {
    person: 'bob@example.com',
    scope: ['github:issues:write'],
    delegation: { depth: 0, chain: ['i-7f3a'] },
    environment: 'prod',
    risk: 5,
    approval: 'none',
    ip: '10.0.0.7',
  },
});

describe('AuthZEN access evaluation requests', () => {
  let authorizer: Authorizer;
  beforeAll(async () => {
    authorizer = new Authorizer(loadPolicySet(await starterSources()));
  });

  it('are decided like library requests, ignoring properties Mandate does not know', () => {
    const decision = authorizeAuthZen(authorizer, body());
    expect(decision).toMatchObject({
      decision: 'allow',
      policies: ['role-operator'],
    });
    expect(toAuthZen(decision)).toMatchObject({
      decision: true,
      context: { policies: ['role-operator'] },
    });
  });

  it("carry the person's groups as context.personGroups, and refuse malformed ones", async () => {
    const rule = `@id("operators-only")
forbid (principal, action, resource) unless { context has person && context.person in Mandate::Group::"operators" };`;
    const guarded = new Authorizer(loadPolicySet([...(await starterSources()), { file: 'persons.cedar', text: rule }]));
    const withGroups = (personGroups: unknown) => ({ ...body(), context: { ...body().context, personGroups } });
    expect(authorizeAuthZen(guarded, withGroups(['operators'])).decision).toBe('allow');
    expect(authorizeAuthZen(guarded, withGroups(['staff']))).toMatchObject({ decision: 'deny', policies: ['operators-only'] });
    expect(authorizeAuthZen(guarded, body())).toMatchObject({ decision: 'deny', policies: ['operators-only'] });
    const malformed = authorizeAuthZen(guarded, withGroups('operators'));
    expect(malformed.decision).toBe('deny');
    expect(malformed.errors[0]).toMatch(/^invalid request: personGroups/);
  });

  it('deny a body that is not an AuthZEN request, naming what is wrong', () => {
    const decision = authorizeAuthZen(authorizer, { subject: { id: 'x' } });
    expect(decision.decision).toBe('deny');
    expect(decision.errors).toContain('invalid request: subject.type: Invalid input: expected "agent"');
    expect(toAuthZen(decision).decision).toBe(false);
  });

  it('deny a request with missing context, naming the field by its AuthZEN path', () => {
    const { risk: _, ...context } = body().context;
    const decision = authorizeAuthZen(authorizer, { ...body(), context });
    expect(decision).toMatchObject({ decision: 'deny', policies: [] });
    expect(decision.errors).toEqual([expect.stringMatching(/^invalid request: context\.risk: /)]);
  });

  it('deny a request missing a card fact, naming it under subject.properties', () => {
    const { roles: _, ...properties } = body().subject.properties;
    const decision = authorizeAuthZen(authorizer, {
      ...body(),
      subject: { ...body().subject, properties },
    });
    expect(decision.errors).toEqual([
      expect.stringMatching(/^invalid request: subject\.properties\.roles: /),
    ]);
  });

  it('take the card facts from the registry when given it, and deny an agent it does not know', () => {
    const registry = new Map([
      [
        'triage-bot',
        {
          id: 'triage-bot',
          roles: ['reader'],
          owner: 'alice@example.com',
          environment: 'prod',
          toolset: ['github'],
        } as const,
      ],
    ]);
    const cardOf = (id: string) => {
      const card = registry.get(id);
      return card && { ...card, roles: [...card.roles], toolset: [...card.toolset] };
    };
    // The body claims `operator`; the registry says `reader`, who may not call tools.
    expect(authorizeAuthZen(authorizer, body(), cardOf)).toMatchObject({ decision: 'deny', policies: [] });
    const properties = { instance: 'i-7f3a' };
    const listing = {
      ...body(),
      subject: { type: 'agent', id: 'triage-bot', properties },
      action: { name: 'tools/list' },
    };
    const server = { type: 'server', id: 'github' };
    expect(authorizeAuthZen(authorizer, { ...listing, resource: server }, cardOf).decision).toBe('allow');
    const stranger = { ...listing, subject: { type: 'agent', id: 'ghost', properties } };
    expect(authorizeAuthZen(authorizer, stranger, cardOf).errors).toEqual([
      'invalid request: subject.id: unknown agent "ghost"',
    ]);
  });

  it('deny an action or resource type Mandate does not know', () => {
    expect(
      authorizeAuthZen(authorizer, {
        ...body(),
        action: { name: 'tools/delete' },
      }).errors[0],
    ).toMatch(/^invalid request: action: /);
    const resource = {
      type: 'tool',
      id: 'create_issue',
      properties: { highImpact: false },
    } as const;
    expect(authorizeAuthZen(authorizer, { ...body(), resource }).errors).toEqual([
      'invalid request: resource.id: must be "<server>/<tool>"',
    ]);
  });
});
