import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminToken } from '../src/server/admin-tokens.ts';
import { mandateStanding } from '../src/tokens/revocation.ts';
import { addEverything, agentSession, closeSessions, budgetMeta, operatorCard, refusalMeta, text } from './governance.kit.ts';
import { decode } from './fixtures.ts';
import { readJson, startTestServer, type TestServer } from './harness.ts';

/**
 * Runtime governance over real HTTP: scripted agents reach the real `server-everything` through
 * the gateway, spend their budgets, hit rate limits, and wait for people to approve their calls.
 */
const LONG = 'trigger-long-running-operation';
const BIN = path.resolve(import.meta.dirname, '../bin/mandate.js');
const run = promisify(execFile);

describe('runtime governance at the MCP gateway', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer('sqlite');
    await addEverything(server, { 'get-sum': { cost: 150 }, echo: { cost: 50 }, [LONG]: { high_impact: true, cost: 5 } });
  });

  afterAll(async () => {
    await closeSessions();
    await server.close();
  });

  const events = (type: string, resource?: string) => server.audit.events.filter((e) => e.type === type && (!resource || e.resource === resource));

  describe('budgets', () => {
    it('authorizes an expensive call at 80% spent, refuses it at 95%, lets cheap calls finish, and ends the mandate at zero', async () => {
      const agent = await agentSession(server, operatorCard('spender', ['get-sum', 'echo'], { default_budget: 1000 }));
      const jti = decode(agent.mandate.token).jti as string;
      for (let i = 0; i < 4; i++) expect(text(await agent.call('get-sum', { a: i, b: 1 }))).toContain('The sum of');
      for (let i = 0; i < 4; i++) expect((await agent.call('echo', { message: `step ${i}` })).isError).toBeFalsy();

      // 800 of 1000 spent (80%): the fifth get-sum is authorized and crosses the 10%-left line.
      const fifth = await agent.call('get-sum', { a: 5, b: 5 });
      expect(fifth.isError).toBeFalsy();
      expect(budgetMeta(fifth)).toEqual({ limit: 1000, spent: 950, remaining: 50 });

      // 950 spent (95%): the same expensive call is refused by policy, with its reason.
      const refused = await agent.call('get-sum', { a: 6, b: 6 });
      expect(refused.isError).toBe(true);
      expect(text(refused)).toMatch(/^Mandate refused this call: (less than 10% of the budget is left|this call costs more than the budget left)/);
      const denial = events('tool.decision', 'everything/get-sum').at(-1)!;
      expect(denial).toMatchObject({ decision: 'deny', denial_reason: 'ERR_POLICY_DENIED', reasons: { budget: { limit: 1000, spent: 950, remaining: 50 } } });
      expect(denial.reasons!.policies).toContain('budget-low');

      // A cheap call still fits and spends the last units: the mandate ends, in the trail.
      const last = await agent.call('echo', { message: 'wrap up' });
      expect(budgetMeta(last)).toEqual({ limit: 1000, spent: 1000, remaining: 0 });
      expect(last.content.at(-1)).toEqual({
        type: 'text',
        text: "Mandate: this call spent the last of the mandate's budget (1000 of 1000); the mandate has ended. Obtain a new mandate to continue.",
      });
      expect(await mandateStanding(server.ctx.store.db, jti)).toBe('revoked');
      expect(events('token.revoked').at(-1)).toMatchObject({
        resource: 'everything/echo',
        reasons: { budget: { limit: 1000, spent: 1000, remaining: 0 }, message: 'budget exhausted: 1 mandate(s) ended' },
        data: { resources: [expect.any(String), jti] },
      });
      await expect(agent.call('echo', { message: 'one more' })).rejects.toThrow('mandate has been revoked');
      await agent.close().catch(() => {});
    });

    it('debits only what was allowed: refused calls cost nothing', async () => {
      const agent = await agentSession(server, operatorCard('frugal', ['echo'], { default_budget: 120 }));
      expect(budgetMeta(await agent.call('echo', { message: 'a' }))).toMatchObject({ spent: 50, remaining: 70 });
      expect(budgetMeta(await agent.call('echo', { message: 'b' }))).toMatchObject({ spent: 100, remaining: 20 });
      expect((await agent.call('echo', { message: 'c' })).isError).toBe(true);
      expect((await agent.call('echo', { message: 'd' })).isError).toBe(true);
      const row = await server.ctx.store.db.selectFrom('mandate_budgets').selectAll().where('jti', '=', decode(agent.mandate.token).jti).executeTakeFirstOrThrow();
      expect(Number(row.spent)).toBe(100);
      await agent.close();
    });
  });

  describe('rate limits', () => {
    it('refuses a burst over the instance limit with a retryable error that says when', async () => {
      server.ctx.governance.configure({ rateLimits: { instance: { limit: 3, windowSeconds: 3600 } } });
      try {
        const agent = await agentSession(server, operatorCard('chatty', ['get-sum']));
        for (let i = 0; i < 3; i++) expect((await agent.call('get-sum', { a: i, b: i })).isError).toBeFalsy();
        const limited = await agent.call('get-sum', { a: 9, b: 9 });
        expect(limited.isError).toBe(true);
        expect(text(limited)).toMatch(/^Mandate refused this call: rate limit reached: 3 calls per 3600 s for this instance; retry after \d+ s$/);
        const meta = refusalMeta(limited)!;
        expect(meta.code).toBe('ERR_RATE_LIMITED');
        expect(meta.retryAfter).toBeGreaterThan(0);
        expect(meta.retryAfter).toBeLessThanOrEqual(3600);
        expect(events('tool.decision', 'everything/get-sum').at(-1)).toMatchObject({ decision: 'deny', denial_reason: 'ERR_RATE_LIMITED' });
        await agent.close();
      } finally {
        server.ctx.governance.configure({ rateLimits: { instance: { limit: 600, windowSeconds: 60 } } });
      }
    });
  });

  describe('human approval', () => {
    let approver: string;
    let self: string;
    let auditor: string;
    const as = (token: string) => ({ authorization: `Bearer ${token}` });

    beforeAll(async () => {
      const now = new Date();
      approver = (await createAdminToken(server.ctx.store.db, { name: 'carol@example.com', role: 'approver', now })).token;
      self = (await createAdminToken(server.ctx.store.db, { name: 'alice@example.com', role: 'approver', now })).token;
      auditor = (await createAdminToken(server.ctx.store.db, { name: 'audit', role: 'auditor', now })).token;
    });

    it('holds a high-impact call, lets the identical call through once after approval, and asks again for the next', async () => {
      const agent = await agentSession(server, operatorCard('deployer', [LONG]));
      const args = { duration: 0.1, steps: 1 };
      const held = await agent.call(LONG, args);
      expect(held.isError).toBe(true);
      expect(text(held)).toMatch(/^Mandate is holding this call for a person's approval: this is a high-impact action: a person must approve this call\. The call is held as approval apr_/);
      const ticket = refusalMeta(held)!.approval!;
      expect(ticket).toMatchObject({ id: expect.stringMatching(/^apr_/), status: 'pending' });

      // Asking again before anyone decided does not pile up requests.
      expect(refusalMeta(await agent.call(LONG, args))!.approval!.id).toBe(ticket.id);

      const listed = await readJson(await server.api('GET', '/v1/approvals'));
      expect(listed.approvals.find((a: any) => a.id === ticket.id)).toMatchObject({
        status: 'pending',
        agent: 'deployer',
        person: 'alice@example.com',
        owner: 'alice@example.com',
        resource: `everything/${LONG}`,
        args_digest: expect.stringMatching(/^hmac-sha256:/),
        why: { policies: ['high-impact-needs-approval'], reasons: ['this is a high-impact action: a person must approve this call'] },
      });

      // Separation of duties and access classes.
      const selfApproval = await server.api('POST', `/v1/approvals/${ticket.id}/approve`, {}, as(self));
      expect(selfApproval.status).toBe(403);
      expect((await readJson(selfApproval)).code).toBe('ERR_APPROVAL_SELF');
      expect((await server.api('POST', `/v1/approvals/${ticket.id}/approve`, {}, as(auditor))).status).toBe(403);

      const granted = await server.api('POST', `/v1/approvals/${ticket.id}/approve`, { note: 'release window' }, as(approver));
      expect(granted.status).toBe(200);
      expect(await readJson(granted)).toMatchObject({ status: 'granted', decided_by: 'carol@example.com' });
      expect((await readJson(await server.api('POST', `/v1/approvals/${ticket.id}/deny`, {}, as(approver)))).code).toBe('ERR_APPROVAL_DECIDED');

      // Other arguments are another call: the approval does not cover them.
      const other = await agent.call(LONG, { duration: 0.2, steps: 1 });
      expect(refusalMeta(other)!.approval!.id).not.toBe(ticket.id);

      const ran = await agent.call(LONG, args);
      expect(ran.isError).toBeFalsy();
      expect(text(ran)).toContain('Long running operation completed');
      const lifted = events('tool.decision', `everything/${LONG}`).at(-1)!;
      expect(lifted).toMatchObject({ decision: 'allow', reasons: { approval: ticket.id } });
      expect(lifted.reasons!.policies).toContain('high-impact-needs-approval');

      const again = await agent.call(LONG, args);
      expect(refusalMeta(again)).toMatchObject({ code: 'ERR_APPROVAL_REQUIRED', approval: { status: 'pending' } });
      expect(refusalMeta(again)!.approval!.id).not.toBe(ticket.id);
      expect((await readJson(await server.api('GET', `/v1/approvals/${ticket.id}`))).status).toBe('consumed');

      // The whole story is in the trail, with who decided.
      expect(events('approval.requested').filter((e) => e.reasons?.approval === ticket.id)).toHaveLength(1);
      expect(events('approval.granted').find((e) => e.reasons?.approval === ticket.id)).toMatchObject({
        chain: 'system',
        actor: { person: 'carol@example.com' },
        reasons: { message: 'release window' },
      });
      expect(events('approval.consumed').find((e) => e.reasons?.approval === ticket.id)).toMatchObject({ chain: `instance:${agent.runtime.instanceId}` });
      await agent.close();
    });

    it('refuses the call a person denied', async () => {
      const agent = await agentSession(server, operatorCard('denied-bot', [LONG]));
      const args = { duration: 0.1, steps: 2 };
      const { id } = refusalMeta(await agent.call(LONG, args))!.approval!;
      expect((await server.api('POST', `/v1/approvals/${id}/deny`, { note: 'not today' }, as(self))).status).toBe(200);
      const refused = await agent.call(LONG, args);
      expect(text(refused)).toBe(`Mandate refused this call: a person denied this call by alice@example.com (approval ${id})`);
      expect(refusalMeta(refused)).toMatchObject({ code: 'ERR_APPROVAL_DENIED', approval: { id, status: 'denied' } });
      expect(events('approval.denied').find((e) => e.reasons?.approval === id)).toBeDefined();
      await agent.close();
    });

    it('can hold the agent’s request open until a person decides', async () => {
      server.ctx.governance.configure({ approvals: { waitSeconds: 10 } });
      try {
        const agent = await agentSession(server, operatorCard('patient', [LONG]));
        const pending = agent.call(LONG, { duration: 0.1, steps: 3 });
        let id: string | undefined;
        for (let i = 0; i < 50 && !id; i++) {
          await new Promise((r) => setTimeout(r, 50));
          const { approvals } = await readJson(await server.api('GET', '/v1/approvals?agent=patient'));
          id = approvals[0]?.id;
        }
        expect((await server.api('POST', `/v1/approvals/${id}/approve`, {}, as(approver))).status).toBe(200);
        const result = await pending;
        expect(result.isError).toBeFalsy();
        expect(events('approval.consumed').some((e) => e.reasons?.approval === id)).toBe(true);
        await agent.close();
      } finally {
        server.ctx.governance.configure({ approvals: { waitSeconds: 0 } });
      }
    });

    it('lets an approver list, inspect and approve held calls from the CLI', async () => {
      const agent = await agentSession(server, operatorCard('cli-bot', [LONG]));
      const args = { duration: 0.1, steps: 4 };
      const { id } = refusalMeta(await agent.call(LONG, args))!.approval!;
      const cli = async (...argv: string[]) => {
        const { stdout } = await run(process.execPath, [BIN, '--addr', server.url, '--token', approver, ...argv], { timeout: 20_000, env: { PATH: process.env.PATH } });
        return stdout;
      };
      // Reads go through the default class (admin, auditor); deciding needs the approve class.
      const listed = JSON.parse(await cli('--token', server.token, 'approvals', 'list', '--agent', 'cli-bot', '--json'));
      expect(listed).toEqual([expect.objectContaining({ id, status: 'pending', resource: `everything/${LONG}` })]);
      expect(await cli('approvals', 'approve', id, '--note', 'checked')).toMatch(new RegExp(`^approved ${id}: cli-bot → everything/${LONG} \\(valid until `));
      expect((await agent.call(LONG, args)).isError).toBeFalsy();
      await agent.close();
    });

    it('validates approval ids and decisions', async () => {
      expect((await server.api('GET', '/v1/approvals/apr_AAAAAAAAAAAAAAAA')).status).toBe(404);
      expect((await server.api('POST', '/v1/approvals/nope/approve', {})).status).toBe(400);
      expect((await server.api('GET', '/v1/approvals?status=maybe')).status).toBe(400);
    });
  });
});
