import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addEverything, agentSession, closeSessions, operatorCard, refusalMeta } from './governance.kit.ts';
import { dialects, readJson, startTestServer, type TestServer } from './harness.ts';

const LONG = 'trigger-long-running-operation';

/** Operators with roles, and their API tokens, as a security team runs them over real HTTP. */
describe.each(await dialects())('operators and roles on %s', (dialect) => {
  let server: TestServer;
  let clock = new Date();
  const as = (token: string) => ({ authorization: `Bearer ${token}` });
  const post = async (path: string, body: unknown, token?: string) => server.api('POST', path, body, token ? as(token) : {});
  /** An operator with roles and a token of theirs, made by the bootstrap admin. */
  async function operator(subject: string, roles: string[], ttl = '1h'): Promise<string> {
    const added = await post('/v1/operators', { subject, email: `${subject}@example.com`, name: subject, roles });
    expect(added.status, await added.clone().text()).toBe(201);
    const created = await post('/v1/tokens', { for: subject, ttl });
    expect(created.status, await created.clone().text()).toBe(201);
    return (await readJson(created)).token;
  }

  beforeAll(async () => {
    server = await startTestServer(dialect, { now: () => clock });
    await addEverything(server, { [LONG]: { high_impact: true } });
  });
  afterAll(async () => {
    await closeSessions();
    await server.close();
  });

  it('lets a prod approver decide held calls of prod agents only, and list only those', async () => {
    const approver = await operator('pat', ['approver:prod']);
    const prodAgent = await agentSession(server, operatorCard('prod-deployer', [LONG], { environment: 'prod' }), { environment: 'prod' });
    const devAgent = await agentSession(server, operatorCard('dev-deployer', [LONG]));
    const prodHeld = refusalMeta(await prodAgent.call(LONG, { duration: 0.1, steps: 1 }))!.approval!;
    const devHeld = refusalMeta(await devAgent.call(LONG, { duration: 0.1, steps: 1 }))!.approval!;

    const listed = await readJson(await server.api('GET', '/v1/approvals', undefined, as(approver)));
    expect(listed.approvals.map((a: any) => a.id)).toEqual([prodHeld.id]);

    const before = server.audit.events.length;
    const refused = await post(`/v1/approvals/${devHeld.id}/approve`, {}, approver);
    expect(refused.status).toBe(403);
    expect(await readJson(refused)).toMatchObject({ code: 'ERR_FORBIDDEN' });
    expect(server.audit.events.slice(before)).toEqual([expect.objectContaining({ type: 'admin.access_refused', actor: expect.objectContaining({ person: 'pat' }) })]);

    const granted = await post(`/v1/approvals/${prodHeld.id}/approve`, {}, approver);
    expect(granted.status, await granted.clone().text()).toBe(200);
    expect(await readJson(granted)).toMatchObject({ status: 'granted', decided_by: 'pat' });

    // Separation of duties with real accounts: the operator whose email the call was made for may not approve it.
    const alice = await operator('alice', ['approver:prod']);
    const own = refusalMeta(await prodAgent.call(LONG, { duration: 0.1, steps: 2 }))!.approval!;
    const self = await post(`/v1/approvals/${own.id}/approve`, {}, alice);
    expect(self.status).toBe(403);
    expect(await readJson(self)).toMatchObject({ code: 'ERR_APPROVAL_SELF' });

    // Ending mandates is a change: an approver may not, security may.
    const form = (token: string) => ({ method: 'POST', headers: { ...as(token), 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: prodAgent.mandate.token }) });
    const notAllowed = await fetch(`${server.url}/oauth/revoke`, form(approver));
    expect(notAllowed.status).toBe(400);
    expect(await readJson(notAllowed)).toMatchObject({ error: 'unauthorized_client' });
    expect(server.audit.events.at(-1)).toMatchObject({ type: 'admin.access_refused', denial_reason: 'ERR_REVOKE_NOT_ALLOWED', actor: expect.objectContaining({ person: 'pat' }) });
    expect((await fetch(`${server.url}/oauth/revoke`, form(await operator('stan', ['security'])))).status).toBe(200);
  });

  it('lets an owner see, suspend and resume the agents they own, and nobody else\'s', async () => {
    const owner = await operator('olga', ['owner']);
    for (const [id, who] of [['olgas-bot', 'olga@example.com'], ['other-bot', 'someone@example.com']]) {
      expect((await post('/v1/agents', operatorCard(id!, [LONG], { owner: who }))).status).toBe(201);
    }
    const seen = await readJson(await server.api('GET', '/v1/agents', undefined, as(owner)));
    expect(seen.agents.map((a: any) => a.id)).toEqual(['olgas-bot']);
    expect((await server.api('GET', '/v1/agents/other-bot', undefined, as(owner))).status).toBe(403);
    expect((await post('/v1/agents/olgas-bot/suspend', {}, owner)).status).toBe(200);
    expect((await post('/v1/agents/olgas-bot/resume', {}, owner)).status).toBe(200);
    const refused = await post('/v1/agents/other-bot/suspend', {}, owner);
    expect(refused.status).toBe(403);
    expect(await readJson(refused)).toMatchObject({ code: 'ERR_FORBIDDEN' });
    expect((await post('/v1/agents/olgas-bot/retire', {}, owner)).status).toBe(403);
    expect(server.audit.events.filter((e) => e.type === 'admin.agent_suspended').at(-1)?.actor.person).toBe('olga');
  });

  it('gives security the configuration routes, and a prod-scoped security nothing shared by every environment', async () => {
    const security = await operator('sam', ['security']);
    const scoped = await operator('sid', ['security:prod']);
    const running = await readJson(await server.api('GET', '/v1/policies?files=true'));
    expect((await server.api('PUT', '/v1/policies', { files: running.files }, as(security))).status).toBe(200);
    expect((await server.api('PUT', '/v1/secrets/sam_secret', { value: 'sk-sam-0123456789' }, as(security))).status).toBe(200);
    expect((await post('/v1/agents', operatorCard('sams-bot', [LONG]), security)).status).toBe(403);
    expect((await server.api('PUT', '/v1/policies', { files: running.files }, as(scoped))).status).toBe(403);
    expect((await post('/v1/agents/prod-deployer/suspend', {}, scoped)).status).toBe(200);
    expect((await post('/v1/agents/dev-deployer/suspend', {}, scoped)).status).toBe(403);
  });

  it('refuses to grant a role the caller does not hold, or outside their environment', async () => {
    const approver = await operator('paula', ['approver:prod']);
    const scopedAdmin = await operator('ada', ['admin:prod']);
    const refusedWith = async (res: Response, code: string) => {
      expect(res.status, await res.clone().text()).toBe(403);
      expect(await readJson(res)).toMatchObject({ code });
    };
    const before = server.audit.events.length;
    await refusedWith(await post('/v1/tokens', { roles: ['approver:dev'] }, approver), 'ERR_ROLE_NOT_HELD');
    expect(server.audit.events.slice(before)).toEqual([
      expect.objectContaining({ type: 'admin.access_refused', denial_reason: 'ERR_ROLE_NOT_HELD', action: 'POST /v1/tokens', actor: expect.objectContaining({ person: 'paula' }) }),
    ]);
    await refusedWith(await post('/v1/tokens', { roles: ['approver'] }, approver), 'ERR_ROLE_NOT_HELD');
    await refusedWith(await post('/v1/tokens', { roles: ['auditor'] }, approver), 'ERR_ROLE_NOT_HELD');
    await refusedWith(await post('/v1/tokens', { for: 'pat', roles: ['approver:prod'] }, approver), 'ERR_TOKEN_FOR_OTHER');
    await refusedWith(await post('/v1/tokens', { roles: ['approver:prod'], ttl: '2h' }, approver), 'ERR_TOKEN_OUTLIVES_CALLER');
    const own = await post('/v1/tokens', { roles: ['approver:prod'], ttl: '10m' }, approver);
    expect(own.status).toBe(201);
    expect(await readJson(own)).toMatchObject({ operator: 'paula', roles: ['approver:prod'], name: 'paula' });

    await refusedWith(await post('/v1/operators', { subject: 'eve', email: 'eve@example.com', name: 'Eve', roles: ['security'] }, scopedAdmin), 'ERR_ROLE_NOT_HELD');
    expect((await post('/v1/operators', { subject: 'eve', email: 'eve@example.com', name: 'Eve', roles: ['security:prod', 'approver:prod'] }, scopedAdmin)).status).toBe(201);
    // A token for an operator stays within the operator's roles, whoever asks.
    await refusedWith(await post('/v1/tokens', { for: 'eve', roles: ['auditor'] }), 'ERR_ROLE_NOT_HELD');
    expect((await post('/v1/operators', { subject: 'eve2', email: 'eve@example.com', name: 'Eve', roles: ['auditor'] })).status).toBe(409);
    expect((await post('/v1/operators', { subject: 'x', email: 'x@example.com', name: 'X', roles: ['root'] })).status).toBe(400);
    const invisible = await post('/v1/operators', { subject: 'pat\u200b', email: 'pat2@example.com', name: 'Pat', roles: ['auditor'] });
    expect(invisible.status).toBe(400);
    expect(await readJson(invisible)).toMatchObject({ code: 'ERR_IDENTIFIER_NOT_CANONICAL' });
  });

  it('shows a token once, keeps only its hash, records its last use, and refuses it expired or revoked', async () => {
    const created = await readJson(await post('/v1/tokens', { roles: ['auditor'], ttl: '10m', name: 'ci reader' }));
    expect(created).toMatchObject({ id: expect.any(String), token: expect.stringMatching(/^mdt_/), operator: null, roles: ['auditor'] });
    const row = await server.ctx.store.db.selectFrom('admin_tokens').selectAll().where('id', '=', created.id).executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(created.token.split('.')[1]);

    const listed = async () => (await readJson(await server.api('GET', '/v1/tokens'))).tokens.find((t: any) => t.id === created.id);
    expect(await listed()).toMatchObject({ last_used_at: null, status: 'active', name: 'ci reader' });
    expect(JSON.stringify(await readJson(await server.api('GET', '/v1/tokens')))).not.toMatch(/mdt_|secret_hash/);
    expect((await server.api('GET', '/v1/agents', undefined, as(created.token))).status).toBe(200);
    expect(await listed()).toMatchObject({ last_used_at: clock.toISOString() });

    clock = new Date(clock.getTime() + 11 * 60_000);
    const expired = await server.api('GET', '/v1/agents', undefined, as(created.token));
    expect(expired.status).toBe(401);
    expect(await readJson(expired)).toMatchObject({ code: 'ERR_UNAUTHENTICATED' });
    expect(await listed()).toMatchObject({ status: 'expired' });

    const other = await readJson(await post('/v1/tokens', { roles: ['auditor'], ttl: '1h', name: 'ci reader 2' }));
    expect((await server.api('GET', '/v1/agents', undefined, as(other.token))).status).toBe(200);
    const revoked = await server.api('DELETE', `/v1/tokens/${other.id}`);
    expect(revoked.status).toBe(200);
    expect(await readJson(revoked)).toMatchObject({ id: other.id, status: 'revoked' });
    expect(server.audit.events.filter((e) => e.type === 'admin.token_revoked').at(-1)?.resource).toBe(`/v1/tokens/${other.id}`);
    expect((await server.api('GET', '/v1/agents', undefined, as(other.token))).status).toBe(401);
  });

  it('lets operators list and revoke only their own tokens, revokes them with the operator, and keeps one admin', async () => {
    const mine = await operator('rita', ['auditor:prod']);
    const listed = await readJson(await server.api('GET', '/v1/tokens', undefined, as(mine)));
    expect(listed.tokens.map((t: any) => t.operator)).toEqual(['rita']);
    const bootstrapId = server.token.slice(4, 15);
    expect((await server.api('DELETE', `/v1/tokens/${bootstrapId}`, undefined, as(mine))).status).toBe(404);

    const removed = await server.api('DELETE', '/v1/operators/rita');
    expect(await readJson(removed)).toMatchObject({ subject: 'rita', revoked_tokens: 1 });
    expect((await server.api('GET', '/v1/tokens', undefined, as(mine))).status).toBe(401);

    // The bootstrap token is the only unscoped admin token: revoking it would lock everyone out.
    const last = await server.api('DELETE', `/v1/tokens/${bootstrapId}`);
    expect(last.status).toBe(409);
    expect(await readJson(last)).toMatchObject({ code: 'ERR_LAST_ADMIN' });
    expect((await server.api('GET', '/v1/tokens')).status).toBe(200);
  });
});
