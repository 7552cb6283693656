import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentRuntime, Mandate } from '../src/sdk/runtime.ts';
import { verifyPresentedMandate } from '../src/tokens/verify-request.ts';
import { dialects, readJson, type TestServer } from './harness.ts';
import { decode, delegationScene } from './fixtures.ts';

describe.each(await dialects())('person → agent instance → mandate → sub-agent mandate, on %s', (dialect) => {
  let server: TestServer;
  let parent: AgentRuntime;
  let child: AgentRuntime;
  let alice: string;
  let parentMandate: Mandate;
  let childMandate: Mandate;
  let github: string;

  beforeAll(async () => {
    ({ server, parent, child, alice, github } = await delegationScene(dialect));
  });
  afterAll(() => server.close());

  it('gives each attested instance its own SPIFFE ID and a key-bound identity token', async () => {
    expect(parent.spiffeId).toBe(`spiffe://mandate.local/agent/support-bot/i/${parent.instanceId}`);
    const identity = decode(await parent.identityToken());
    expect(identity).toMatchObject({ sub: parent.spiffeId, cnf: { jkt: parent.key.jkt }, agent_id: 'support-bot' });
    expect(identity.exp - identity.iat).toBeLessThanOrEqual(3600);
    expect(server.audit.ofType('identity.attested')).toHaveLength(2);
  });

  it('exchanges a person token for a DPoP-bound mandate naming the person and the instance', async () => {
    parentMandate = await parent.obtainMandate({
      subjectToken: alice,
      scope: 'tool:github/create_issue tool:github/search_issues',
      resource: github,
      task: { id: 'T-1', description: 'triage ticket 42', budget: 200 },
    });
    const claims = decode(parentMandate.token);
    expect(claims).toMatchObject({
      iss: server.url,
      sub: 'alice@example.com',
      aud: [github],
      client_id: 'support-bot',
      scope: 'tool:github/create_issue tool:github/search_issues',
      act: { sub: parent.spiffeId, instance_id: parent.instanceId },
      cnf: { jkt: parent.key.jkt },
      budget: 200,
      depth: 0,
      task: { id: 'T-1', description: 'triage ticket 42' },
    });
    expect(claims.exp - claims.iat).toBe(600);
    expect(JSON.parse(Buffer.from(parentMandate.token.split('.')[0]!, 'base64url').toString())).toMatchObject({ typ: 'at+jwt', alg: 'EdDSA' });
  });

  it('derives a sub-agent mandate that carries the whole chain and never exceeds its parent', async () => {
    childMandate = await child.obtainMandate({ subjectToken: parentMandate.token, scope: 'tool:github/search_issues', resource: github });
    const claims = decode(childMandate.token);
    expect(claims).toMatchObject({
      sub: 'alice@example.com',
      client_id: 'summarizer',
      scope: 'tool:github/search_issues',
      act: { sub: child.spiffeId, act: { sub: parent.spiffeId } },
      cnf: { jkt: child.key.jkt },
      depth: 1,
      budget: 200,
      parent_jti: decode(parentMandate.token).jti,
    });
    expect(claims.exp).toBeLessThanOrEqual(decode(parentMandate.token).exp);
    await expect(child.obtainMandate({ subjectToken: parentMandate.token, scope: 'tool:github/delete_repo', resource: github })).rejects.toMatchObject({
      status: 400,
      error: 'invalid_scope',
      message: expect.stringContaining('tool:github/delete_repo exceeds the parent mandate'),
    });
    await expect(
      child.obtainMandate({ subjectToken: parentMandate.token, scope: 'tool:github/search_issues', resource: github, task: { budget: 201 } }),
    ).rejects.toMatchObject({ error: 'invalid_request', message: expect.stringContaining('exceeds the parent') });
    await expect(child.obtainMandate({ subjectToken: parentMandate.token, scope: 'tool:github/search_issues', resource: `${server.url}/mcp/jira` })).rejects.toMatchObject({
      error: 'invalid_target',
    });
  });

  it('lets an enforcement point verify the mandate with its proof and see the chain', async () => {
    const principal = await verifyPresentedMandate(server.ctx, {
      authorization: `DPoP ${childMandate.token}`,
      dpop: child.proof('POST', github, childMandate.token),
      htm: 'POST',
      htu: github,
      resource: github,
    });
    expect(principal.delegation).toEqual(['alice@example.com', parent.spiffeId, child.spiffeId]);
    expect(principal).toMatchObject({ person: 'alice@example.com', agentId: 'summarizer', instanceId: child.instanceId });
  });

  it('introspects a live mandate, and revoking the parent ends the child too (cascade)', async () => {
    const form = (token: string) => new URLSearchParams({ token }).toString();
    const headers = { 'content-type': 'application/x-www-form-urlencoded' };
    const live = await readJson(await server.api('POST', '/oauth/introspect', form(childMandate.token), headers));
    expect(live).toMatchObject({ active: true, client_id: 'summarizer', sub: 'alice@example.com' });
    expect((await server.api('POST', '/oauth/revoke', form(parentMandate.token), headers)).status).toBe(200);
    expect(await readJson(await server.api('POST', '/oauth/introspect', form(childMandate.token), headers))).toEqual({ active: false });
    await expect(
      verifyPresentedMandate(server.ctx, {
        authorization: `DPoP ${childMandate.token}`,
        dpop: child.proof('POST', github, childMandate.token),
        htm: 'POST',
        htu: github,
        resource: github,
      }),
    ).rejects.toMatchObject({ code: 'ERR_TOKEN_REVOKED' });
    await expect(child.obtainMandate({ subjectToken: parentMandate.token, scope: 'tool:github/search_issues', resource: github })).rejects.toMatchObject({
      error: 'invalid_request',
    });
  });

  it('records every issued mandate with its delegation chain in the trail', () => {
    const issued = server.audit.ofType('token.issued');
    expect(issued.length).toBe(2);
    expect(issued[1]!.actor.delegation).toEqual(['alice@example.com', parent.spiffeId, child.spiffeId]);
    expect(issued[1]!.chain).toBe(`instance:${child.instanceId}`);
    expect(server.audit.ofType('token.refused').map((e) => e.denial_reason)).toEqual(
      expect.arrayContaining(['ERR_SCOPE_EXCEEDS_PARENT', 'ERR_BUDGET_EXCEEDS_PARENT', 'ERR_TARGET_INVALID', 'ERR_GRANT_INVALID']),
    );
  });
});
