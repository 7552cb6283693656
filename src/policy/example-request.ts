/**
 * A complete, realistic decision request: the shape enforcement points send. Tests start from it and
 * change what they are about.
 */
import type { DecisionRequest } from './request.ts';

export const exampleRequest = (): DecisionRequest => ({
  principal: {
    instance: 'i-7f3a',
    agent: {
      id: 'triage-bot',
      roles: ['operator'],
      owner: 'alice@example.com',
      environment: 'prod',
      toolset: ['github', 'stripe/refunds.create'],
    },
  },
  person: 'bob@example.com',
  action: 'tools/call',
  resource: {
    type: 'tool',
    server: 'github',
    name: 'create_issue',
    highImpact: false,
    cost: 2,
  },
  context: {
    scope: ['github:issues:write'],
    task: 'task-42',
    delegation: { depth: 0, chain: ['i-7f3a'] },
    environment: 'prod',
    budget: { remaining: 500, percent: 50 },
    risk: 10,
    approval: 'none',
    time: '2026-03-04T10:15:00Z',
    trace: '4bf92f3577b34da6a3ce929d0e0e4736',
  },
});

type Patch = {
  principal?: Partial<DecisionRequest['principal']['agent']> & {
    instance?: string;
  };
  person?: string | null;
  action?: DecisionRequest['action'];
  resource?: DecisionRequest['resource'];
  context?: Partial<DecisionRequest['context']>;
};

/** `exampleRequest()` with parts replaced: agent card fields, person, action, resource, context fields. */
export function requestWith(patch: Patch): DecisionRequest {
  const base = exampleRequest();
  const { instance = base.principal.instance, ...agent } = patch.principal ?? {};
  return {
    principal: { instance, agent: { ...base.principal.agent, ...agent } },
    person: patch.person === undefined ? base.person : patch.person,
    action: patch.action ?? base.action,
    resource: patch.resource ?? base.resource,
    context: { ...base.context, ...patch.context },
  };
}
