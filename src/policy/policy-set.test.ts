import { describe, expect, it } from 'vitest';
import { loadPolicySet } from './policy-set.ts';

const permitReaders = `// readers may list tools
@id("readers-list")
permit(principal in Mandate::Role::"reader", action == Mandate::Action::"tools/list", resource);
`;

const invalidError = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return error as {
      code: string;
      status: number;
      message: string;
      details: { path: string; message: string }[];
    };
  }
  throw new Error('expected the policy set to be refused');
};

describe('loading a policy set', () => {
  it('names policies by their @id annotation, else by file and index', () => {
    const set = loadPolicySet([
      { file: 'roles.cedar', text: permitReaders },
      {
        file: 'risk.cedar',
        text: 'forbid(principal, action, resource) when { context.risk >= 70 };',
      },
    ]);
    expect([...set.policies.keys()]).toEqual(['risk.cedar:0', 'readers-list']);
    expect(set.policies.get('readers-list')?.at).toEqual({
      file: 'roles.cedar',
      line: 2,
      column: 1,
    });
  });

  it('versions a set by SHA-256 over its files, independent of the order they are given in', () => {
    const a = { file: 'a.cedar', text: permitReaders };
    const b = {
      file: 'b.cedar',
      text: 'forbid(principal, action, resource) when { context.risk >= 70 };',
    };
    const one = loadPolicySet([a, b]);
    expect(one.version).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(loadPolicySet([b, a]).version).toBe(one.version);
    expect(loadPolicySet([a, { ...b, text: `${b.text}\n` }]).version).not.toBe(one.version);
    expect(loadPolicySet([{ ...a, file: 'c.cedar' }, b]).version).not.toBe(one.version);
  });

  it('refuses a policy that does not parse, saying file, line, column and reason', () => {
    const text = '// first line\npermit(principal, action, resource) when { context.risk > };\n';
    const error = invalidError(() => loadPolicySet([{ file: 'broken.cedar', text }]));
    expect(error.code).toBe('ERR_POLICY_INVALID');
    expect(error.status).toBe(400);
    expect(error.details[0]?.path).toBe('broken.cedar:2:59');
    expect(error.details[0]?.message).toMatch(/unexpected token `}`/);
    expect(error.message).toMatch(/^broken\.cedar:2:59: /);
  });

  it('refuses a policy that does not validate against the schema, naming the policy', () => {
    const text =
      'permit(principal, action == Mandate::Action::"tools/call", resource)\nwhen { context.riskScore > 3 };';
    const error = invalidError(() => loadPolicySet([{ file: 'typo.cedar', text }]));
    expect(error.details).toEqual([
      expect.objectContaining({
        path: 'typo.cedar:2:8',
        message: expect.stringMatching(/^typo\.cedar:0: attribute `riskScore` in context .* not found/),
      }),
    ]);
  });

  it('counts lines and columns in characters, not bytes', () => {
    const text = '// è é ü\npermit(principal, action, resource) when { context.nope };';
    expect(invalidError(() => loadPolicySet([{ file: 'u.cedar', text }])).details[0]?.path).toBe(
      'u.cedar:2:44',
    );
  });

  it('refuses two policies with the same id', () => {
    const error = invalidError(() =>
      loadPolicySet([
        { file: 'a.cedar', text: permitReaders },
        { file: 'b.cedar', text: permitReaders },
      ]),
    );
    expect(error.details[0]?.message).toBe('readers-list: id already used at a.cedar:2:1');
  });

  it('refuses templates, @approval on a permit and files not ending in .cedar', () => {
    const error = invalidError(() =>
      loadPolicySet([
        {
          file: 't.cedar',
          text: 'permit(principal == ?principal, action, resource);',
        },
        {
          file: 'p.cedar',
          text: '@approval("required")\npermit(principal, action, resource);',
        },
        { file: 'notes.txt', text: '' },
      ]),
    );
    expect(error.details.map((d) => d.message)).toEqual([
      'policy files must end in .cedar',
      'p.cedar:0: @approval("required") only has a meaning on a forbid policy',
      'templates (policies with ?principal or ?resource slots) are not supported',
    ]);
  });

  it('reads @approval("consent") on a forbid as liftable by the person\'s consent, and refuses it on a permit or any other value', () => {
    const set = loadPolicySet([{ file: 'c.cedar', text: '@id("ask-me")\n@approval("consent")\nforbid(principal, action, resource);' }]);
    expect(set.policies.get('ask-me')).toMatchObject({ liftableByApproval: true, consent: true });
    const required = loadPolicySet([{ file: 'r.cedar', text: '@id("ask-them")\n@approval("required")\nforbid(principal, action, resource);' }]);
    expect(required.policies.get('ask-them')).toMatchObject({ liftableByApproval: true, consent: false });
    const error = invalidError(() =>
      loadPolicySet([
        { file: 'p.cedar', text: '@approval("consent")\npermit(principal, action, resource);' },
        { file: 'x.cedar', text: '@approval("maybe")\nforbid(principal, action, resource);' },
      ]),
    );
    expect(error.details.map((d) => d.message)).toEqual([
      'p.cedar:0: @approval("consent") only has a meaning on a forbid policy',
      'x.cedar:0: @approval must be "required" or "consent", not "maybe"',
    ]);
  });

  it('keeps validator warnings without refusing the set', () => {
    const text = 'permit(principal, action == Mandate::Action::"mcp", resource);';
    const set = loadPolicySet([{ file: 'w.cedar', text }]);
    expect(set.warnings.length).toBeGreaterThan(0);
    expect(set.warnings[0]).toMatchObject({
      file: 'w.cedar',
      line: 1,
      policy: 'w.cedar:0',
    });
  });

  it('finds the policies of a file with more than ten of them in their written order', () => {
    const text = Array.from(
      { length: 12 },
      (_, i) => `permit(principal, action, resource) when { context.risk == ${i} };`,
    ).join('\n');
    const set = loadPolicySet([{ file: 'many.cedar', text }]);
    expect(set.policies.get('many.cedar:11')?.at.line).toBe(12);
    expect(set.policies.get('many.cedar:11')?.text).toMatch(/== 11 }/);
  });
});
