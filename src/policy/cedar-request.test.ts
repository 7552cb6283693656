import { isAuthorized } from '@cedar-policy/cedar-wasm/nodejs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Authorizer } from './authorizer.ts';
import { toCedarRequest } from './cedar-request.ts';
import { exampleRequest } from './example-request.ts';
import { loadPolicySet } from './policy-set.ts';
import { mandateSchema } from './schema.ts';
import { DENSE, syntheticPolicies, syntheticRequests } from './synthetic/index.ts';

describe('building the Cedar request', () => {
  const schema = mandateSchema();

  it('gives Cedar entities and context that conform to the schema, for every action and resource', () => {
    for (const request of syntheticRequests(300, 11, DENSE)) {
      const cedar = toCedarRequest(request, schema, () => new Date());
      const answer = isAuthorized({
        principal: cedar.principal,
        action: cedar.action,
        resource: cedar.resource,
        context: cedar.context,
        entities: [cedar.entities.principal, ...cedar.entities.resource],
        policies: { staticPolicies: {} },
        schema: schema.text,
        validateRequest: true,
      });
      expect(answer.type === 'failure' ? answer.errors : []).toEqual([]);
    }
  });

  it('places the principal in its agent and its card roles, and tools in their server', () => {
    const cedar = toCedarRequest(exampleRequest(), schema, () => new Date());
    expect(cedar.entities.principal.parents).toEqual([
      { type: 'Mandate::Agent', id: 'triage-bot' },
      { type: 'Mandate::Role', id: 'operator' },
    ]);
    expect(cedar.entities.resource[0]?.parents).toEqual([{ type: 'Mandate::Server', id: 'github' }]);
  });

  it('puts a tool in the agent toolset when the card lists it or its whole server', () => {
    const toolsetOf = (toolset: string[]) => {
      const request = exampleRequest();
      request.principal.agent.toolset = toolset;
      return toCedarRequest(request, schema, () => new Date()).resourceClosure.map(
        (u) => `${u.type}:${u.id}`,
      );
    };
    const inToolset = ['Mandate::Server:github', 'Mandate::Toolset:triage-bot'];
    expect(toolsetOf(['github'])).toEqual(inToolset);
    expect(toolsetOf(['github/*'])).toEqual(inToolset);
    expect(toolsetOf(['github/create_issue'])).toEqual(inToolset);
    expect(toolsetOf(['github/delete_repo', 'githubx'])).toEqual(['Mandate::Server:github']);
  });
});

describe('a decision on bad input', () => {
  const authorizer = new Authorizer(loadPolicySet(syntheticPolicies(30, 5, DENSE)));

  it('is a deny with errors, never an exception, whatever the caller sends', () => {
    fc.assert(
      fc.property(fc.anything(), (input) => {
        const decision = authorizer.decide(input);
        expect(decision.decision).toBe('deny');
        expect(decision.errors.length).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
  });

  it('is a deny naming the field, for a valid request with one field broken', () => {
    const paths = [
      ['principal', 'agent', 'roles'],
      ['principal', 'instance'],
      ['resource', 'highImpact'],
      ['context', 'risk'],
      ['context', 'approval'],
      ['context', 'delegation'],
      ['action'],
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...paths),
        fc.oneof(fc.constant(undefined), fc.string(), fc.integer({ min: -5, max: 500 }), fc.constant(null)),
        (path, value) => {
          const request = exampleRequest() as unknown as Record<string, unknown>;
          let target = request;
          for (const key of path.slice(0, -1)) target = target[key] as Record<string, unknown>;
          target[path.at(-1) as string] = value;
          const decision = authorizer.decide(request);
          if (decision.errors.length === 0) return; // the value happened to be valid (e.g. risk 42)
          expect(decision).toMatchObject({ decision: 'deny', policies: [] });
          expect(decision.errors[0]).toContain(`invalid request: ${path.join('.')}`);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('an endpoint’s path as structured data', () => {
  const SUBTREE = `@id("no-admin")
forbid (principal, action == Mandate::Action::"http:request", resource)
when { resource.pathPrefixes.contains("/admin") && resource.method != "GET" };
@id("calls")
permit (principal, action == Mandate::Action::"http:request", resource);
`;
  const endpoint = (name: string) => ({
    ...exampleRequest(),
    action: 'http:request' as const,
    resource: { type: 'endpoint' as const, connection: 'api', name, highImpact: false },
  });

  it('carries the method, the path and every ancestor of it', () => {
    const cedar = toCedarRequest(endpoint('DELETE /admin/users/7'), mandateSchema(), () => new Date());
    expect(cedar.entities.resource[0]!.attrs).toEqual({ highImpact: false, method: 'DELETE', path: '/admin/users/7', pathPrefixes: ['/', '/admin', '/admin/users', '/admin/users/7'] });
    const other = toCedarRequest(endpoint('refunds.create'), mandateSchema(), () => new Date());
    expect(other.entities.resource[0]!.attrs).toEqual({ highImpact: false, method: '', path: '', pathPrefixes: [] });
  });

  it.each([{ slicing: true }, { slicing: false }])('lets one policy forbid a whole subtree (slicing: $slicing)', (options) => {
    const authorizer = new Authorizer(loadPolicySet([{ file: 'p.cedar', text: SUBTREE }]), options);
    const decided = ['DELETE /admin', 'POST /admin/users', 'PUT /admin/users/7/keys', 'GET /admin/users', 'DELETE /administrator', 'DELETE /public/admin'].map((name) => [name, authorizer.decide(endpoint(name)).decision]);
    expect(decided).toEqual([
      ['DELETE /admin', 'deny'],
      ['POST /admin/users', 'deny'],
      ['PUT /admin/users/7/keys', 'deny'],
      ['GET /admin/users', 'allow'],
      ['DELETE /administrator', 'allow'],
      ['DELETE /public/admin', 'allow'],
    ]);
  });
});
