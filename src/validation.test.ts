import { describe, expect, it } from 'vitest';
import { Authorizer } from './policy/authorizer.ts';
import { requestWith } from './policy/example-request.ts';
import { loadPolicySet } from './policy/policy-set.ts';
import { checkIdentifier, identifierProblem } from './validation.ts';

describe('identifiers a decision is asked about', () => {
  it('accepts a name only in its one canonical form', () => {
    for (const ok of ['support-bot', 'github/create_issue', 'GET /repos/acme', 'café', 'alice@example.com', '数据']) expect(identifierProblem(ok)).toBeNull();
    const refused: Array<[string, string]> = [
      ['echo\u0000', 'has control or invisible format characters'],
      ['echo\n', 'has control or invisible format characters'],
      ['ec\u0085ho', 'has control or invisible format characters'],
      ['ech\u200bo', 'has control or invisible format characters'],
      ['admin\u202egnp', 'has control or invisible format characters'],
      ['\ufeffecho', 'has control or invisible format characters'],
      ['a\u2028b', 'has control or invisible format characters'],
      [' echo', 'has leading or trailing whitespace'],
      ['echo\u00a0', 'has leading or trailing whitespace'],
      ['cafe\u0301', 'is not in Unicode normalization form C'],
      ['x\ud800', 'has an unpaired surrogate'],
    ];
    expect(refused.map(([value]) => [value, identifierProblem(value)])).toEqual(refused);
  });

  it('refuses with one code and a message that names the field, not the value', () => {
    let caught: { code?: string; status?: number; message?: string } = {};
    try {
      checkIdentifier('delete\u0000repo', 'resource.id');
    } catch (error) {
      caught = error as typeof caught;
    }
    expect(caught).toMatchObject({ code: 'ERR_IDENTIFIER_NOT_CANONICAL', status: 400 });
    expect(caught.message).toContain('resource.id');
    expect(caught.message).not.toContain('delete');
  });

  it('denies a decision whose agent, person or tool is not canonical, whichever enforcement point asks', () => {
    const authorizer = new Authorizer(loadPolicySet([{ file: 'p.cedar', text: 'permit (principal, action, resource);\n' }]));
    expect(authorizer.decide(requestWith({})).decision).toBe('allow');
    const tool = { type: 'tool', server: 'github', name: 'create_issue\u200b', highImpact: false } as const;
    for (const request of [requestWith({ resource: tool }), requestWith({ person: 'alice@example.com ' })]) {
      const decision = authorizer.decide(request);
      expect(decision.decision).toBe('deny');
      expect(decision.errors.join(' ')).toContain('ERR_IDENTIFIER_NOT_CANONICAL');
    }
  });
});
