import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addEverything, agentSession, closeSessions, operatorCard, refusalMeta, text } from './governance.kit.ts';
import { personToken } from './fixtures.ts';
import { dialects, readJson, startTestServer, type TestServer } from './harness.ts';

/**
 * Consent over real HTTP: a policy marks a low-risk held call `@approval("consent")`, and the
 * person the agent acts for approves (or denies) it themselves, signed in with a person token.
 * Another person, a high-impact call, and a call no consent policy holds are refused by name.
 */
const LONG = 'trigger-long-running-operation';

const APPROVALS = `
@id("echo-needs-consent")
@approval("consent")
@reason("echoing needs the consent of the person the agent acts for")
forbid (principal, action in Mandate::Action::"call", resource == Mandate::Tool::"everything/echo");

// Even marked consent, a high-impact call needs an approver.
@id("high-impact-consent")
@approval("consent")
@reason("this is a high-impact action")
forbid (principal, action in Mandate::Action::"call", resource)
when { resource.highImpact };

@id("sum-needs-approver")
@approval("required")
@reason("sums need an approver")
forbid (principal, action in Mandate::Action::"call", resource == Mandate::Tool::"everything/get-sum");

// Consent only where every policy holding the call allows it.
@id("image-consent")
@approval("consent")
forbid (principal, action in Mandate::Action::"call", resource == Mandate::Tool::"everything/get-tiny-image");

@id("image-needs-approver")
@approval("required")
forbid (principal, action in Mandate::Action::"call", resource == Mandate::Tool::"everything/get-tiny-image");
`;

describe.each(await dialects())('consent of the person the agent acts for (%s)', (dialect) => {
  let server: TestServer;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    server = await startTestServer(dialect);
    await addEverything(server, { [LONG]: { high_impact: true } });
    const running = await readJson(await server.api('GET', '/v1/policies?files=true'));
    const files = running.files.map((f: { file: string; text: string }) => (f.file.endsWith('approval.cedar') ? { ...f, text: APPROVALS } : f));
    expect(files.some((f: { text: string }) => f.text === APPROVALS)).toBe(true);
    expect((await server.api('PUT', '/v1/policies', { files })).status).toBe(200);
    alice = await personToken(server, 'alice@example.com');
    bob = await personToken(server, 'bob@example.com');
  });

  afterAll(async () => {
    await closeSessions();
    await server.close();
  });

  const consent = (id: string, token: string | null, body: object = {}) =>
    server.api('POST', `/v1/approvals/${id}/consent`, body, token === null ? { authorization: '' } : { authorization: `Bearer ${token}` });
  const approval = async (id: string) => readJson(await server.api('GET', `/v1/approvals/${id}`));
  const decided = (id: string) => server.audit.events.filter((e) => (e.type === 'approval.granted' || e.type === 'approval.denied') && e.reasons?.approval === id);

  it('lets the person approve their own consent-marked call once; another person is refused and nothing is approved', async () => {
    const agent = await agentSession(server, operatorCard('helper', ['echo', 'get-sum', 'get-tiny-image', LONG]));
    const held = await agent.call('echo', { message: 'hello' });
    expect(refusalMeta(held)?.code).toBe('ERR_APPROVAL_REQUIRED');
    const { id } = refusalMeta(held)!.approval!;
    expect(await approval(id)).toMatchObject({ status: 'pending', person: 'alice@example.com', consent: true, why: { policies: ['echo-needs-consent'], consent: true } });
    // The held call's notification event says the person may consent.
    const requested = server.audit.events.find((e) => e.type === 'approval.requested' && e.reasons?.approval === id);
    expect(requested?.data?.consent).toBe(true);

    // Another person, even signed in through the same issuer: refused by name, nothing decided.
    const other = await consent(id, bob);
    expect(other.status).toBe(403);
    expect((await readJson(other)).code).toBe('ERR_CONSENT_WRONG_PERSON');
    // No person token at all, or an operator's admin token, is no consent either.
    const anonymous = await consent(id, null);
    expect(anonymous.status).toBe(401);
    expect((await readJson(anonymous)).code).toBe('ERR_SUBJECT_INVALID');
    expect((await readJson(await consent(id, server.token))).code).toBe('ERR_SUBJECT_INVALID');
    // Each refusal is in the trail, with the person as actor when their token was valid.
    const refusals = server.audit.events.filter((e) => e.type === 'approval.consent_refused' && e.resource === id);
    expect(refusals.map((e) => [e.chain, e.actor.person, e.status, e.denial_reason])).toEqual([
      ['system', 'bob@example.com', 'failure', 'ERR_CONSENT_WRONG_PERSON'],
      ['system', null, 'failure', 'ERR_SUBJECT_INVALID'],
      ['system', null, 'failure', 'ERR_SUBJECT_INVALID'],
    ]);
    expect(JSON.stringify(refusals)).not.toContain(bob);
    expect(await approval(id)).toMatchObject({ status: 'pending', decided_by: null });
    expect(decided(id)).toEqual([]);
    expect(refusalMeta(await agent.call('echo', { message: 'hello' }))).toMatchObject({ code: 'ERR_APPROVAL_REQUIRED', approval: { id } });

    // The person themselves: granted, in the trail with them as actor.
    const granted = await consent(id, alice, { note: 'yes, echo it' });
    expect(granted.status, await granted.clone().text()).toBe(200);
    expect(await readJson(granted)).toMatchObject({ id, status: 'granted', decided_by: 'alice@example.com' });
    expect(decided(id)).toEqual([
      expect.objectContaining({
        chain: 'system',
        type: 'approval.granted',
        actor: expect.objectContaining({ person: 'alice@example.com' }),
        reasons: { approval: id, message: 'consent of the person the agent acts for: yes, echo it' },
      }),
    ]);
    expect((await readJson(await consent(id, alice))).code).toBe('ERR_APPROVAL_DECIDED');

    // The retried call passes once; the next identical call is held again.
    const lifted = await agent.call('echo', { message: 'hello' });
    expect(lifted.isError).toBeFalsy();
    expect(text(lifted)).toContain('hello');
    expect((await approval(id)).status).toBe('consumed');
    const again = refusalMeta(await agent.call('echo', { message: 'hello' }))!;
    expect(again.code).toBe('ERR_APPROVAL_REQUIRED');
    expect(again.approval!.id).not.toBe(id);
    await agent.close();
  });

  it('lets the person deny their own call by consent', async () => {
    const agent = await agentSession(server, operatorCard('helper', ['echo'], {}), { register: false });
    const { id } = refusalMeta(await agent.call('echo', { message: 'no thanks' }))!.approval!;
    const denied = await consent(id, alice, { verdict: 'deny' });
    expect(denied.status).toBe(200);
    expect(await readJson(denied)).toMatchObject({ status: 'denied', decided_by: 'alice@example.com' });
    expect(decided(id)).toEqual([expect.objectContaining({ type: 'approval.denied', actor: expect.objectContaining({ person: 'alice@example.com' }) })]);
    expect(refusalMeta(await agent.call('echo', { message: 'no thanks' }))).toMatchObject({ code: 'ERR_APPROVAL_DENIED', approval: { id } });
    await agent.close();
  });

  it('never takes consent for a high-impact call, even where the policy says consent', async () => {
    const agent = await agentSession(server, operatorCard('helper', [LONG]), { register: false });
    const { id } = refusalMeta(await agent.call(LONG, { duration: 0.1, steps: 1 }))!.approval!;
    expect(await approval(id)).toMatchObject({ status: 'pending', consent: false, why: { policies: ['high-impact-consent'] } });
    expect(server.audit.events.find((e) => e.type === 'approval.requested' && e.reasons?.approval === id)?.data).not.toHaveProperty('consent');
    const refused = await consent(id, alice);
    expect(refused.status).toBe(403);
    expect((await readJson(refused)).code).toBe('ERR_CONSENT_NOT_ALLOWED');
    expect(server.audit.events.filter((e) => e.type === 'approval.consent_refused' && e.resource === id).map((e) => [e.actor.person, e.denial_reason])).toEqual([
      ['alice@example.com', 'ERR_CONSENT_NOT_ALLOWED'],
    ]);
    expect(await approval(id)).toMatchObject({ status: 'pending', decided_by: null });
    expect(decided(id)).toEqual([]);
    expect(refusalMeta(await agent.call(LONG, { duration: 0.1, steps: 1 }))?.code).toBe('ERR_APPROVAL_REQUIRED');
    await agent.close();
  });

  it('refuses consent for an approval no consent policy marks', async () => {
    const agent = await agentSession(server, operatorCard('helper', ['get-sum']), { register: false });
    const { id } = refusalMeta(await agent.call('get-sum', { a: 1, b: 2 }))!.approval!;
    expect(await approval(id)).toMatchObject({ status: 'pending', consent: false });
    const refused = await consent(id, alice);
    expect(refused.status).toBe(403);
    expect((await readJson(refused)).code).toBe('ERR_CONSENT_NOT_ALLOWED');
    expect(await approval(id)).toMatchObject({ status: 'pending', decided_by: null });
    expect(decided(id)).toEqual([]);
    await agent.close();
  });

  it('refuses consent when any policy holding the call needs an approver', async () => {
    const agent = await agentSession(server, operatorCard('helper', ['get-tiny-image']), { register: false });
    const { id } = refusalMeta(await agent.call('get-tiny-image', {}))!.approval!;
    expect(await approval(id)).toMatchObject({ status: 'pending', consent: false });
    expect((await approval(id)).why.policies.sort()).toEqual(['image-consent', 'image-needs-approver']);
    const refused = await consent(id, alice);
    expect(refused.status).toBe(403);
    expect((await readJson(refused)).code).toBe('ERR_CONSENT_NOT_ALLOWED');
    expect(decided(id)).toEqual([]);
    await agent.close();
  });

  it('takes a development person token for a prod agent only where token exchange would', async () => {
    const agent = await agentSession(server, operatorCard('prod-helper', ['echo'], { environment: 'prod' }), { environment: 'prod' });
    const { id } = refusalMeta(await agent.call('echo', { message: 'in prod' }))!.approval!;
    server.ctx.devIssuerProd = false;
    try {
      const refused = await consent(id, alice);
      expect(refused.status).toBe(400);
      expect((await readJson(refused)).code).toBe('ERR_DEV_ISSUER_PROD');
      expect(await approval(id)).toMatchObject({ status: 'pending', decided_by: null });
      expect(decided(id)).toEqual([]);
    } finally {
      server.ctx.devIssuerProd = true;
    }
    expect((await consent(id, alice)).status).toBe(200);
    expect((await agent.call('echo', { message: 'in prod' })).isError).toBeFalsy();
    await agent.close();
  });
});
