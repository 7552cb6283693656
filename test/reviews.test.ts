import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyReviewReport } from '../src/lifecycle/review-report.ts';
import { reviewsRepository } from '../src/store/repositories/reviews.ts';
import { addEverything, agentSession, closeSessions, operatorCard, text } from './governance.kit.ts';
import { dialects, readJson } from './harness.ts';
import { cli, operatorToken, startReceiver, startStored, type StoredServer, trailOf, until } from './reviews.kit.ts';

const DAY = 86_400_000;

/**
 * Access reviews, as a security engineer runs one: a campaign over the dev agents, owners told
 * through a signed webhook, least-privilege suggestions from what the trail shows each agent used,
 * an owner trimming their agent's card, another owner silent until the due date, the periodic
 * check suspending what nobody certified, and a signed report checked offline.
 */
describe.each(await dialects())('access reviews on %s', (dialect) => {
  let server: StoredServer;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let alice: Record<string, string>;
  let bob: Record<string, string>;
  let campaign: string;

  beforeAll(async () => {
    // The periodic check every second; the clock it reads is the test's.
    server = await startStored(dialect, { reviewCheckInterval: 1, reviewRemindEvery: 3600 });
    receiver = await startReceiver();
    const sink = await server.api('POST', '/v1/sinks', { name: 'owners', url: receiver.url, key: 'whsec-reviews-0123456789abcdef', events: ['lifecycle.review_requested', 'lifecycle.review_reminded'] });
    expect(sink.status, await sink.clone().text()).toBe(201);
    await addEverything(server);
    // alice's agent uses echo and never get-sum; bob's agent never runs.
    const helper = await agentSession(server, operatorCard('helper', ['echo', 'get-sum'], { may_delegate_to: ['summarizer'] }));
    expect(text(await helper.call('echo', { message: 'hi' }))).toContain('hi');
    await closeSessions();
    const idle = await server.api('POST', '/v1/agents', operatorCard('idle-bot', ['echo'], { owner: 'bob@example.com' }));
    expect(idle.status).toBe(201);
    alice = await operatorToken(server, 'alice', 'alice@example.com', ['owner']);
    bob = await operatorToken(server, 'bob', 'bob@example.com', ['owner']);
  });
  afterAll(async () => {
    await closeSessions();
    await server?.close();
    await receiver?.close();
  });

  it('starts a campaign with one item per agent, assigned to its owner, with unused toolset items suggested, and tells each owner', async () => {
    const res = await server.api('POST', '/v1/reviews', { environment: 'dev', due: '14d', action: 'suspend', unused_days: 30 });
    expect(res.status, await res.clone().text()).toBe(201);
    const body = await readJson(res);
    campaign = body.id;
    expect(body).toMatchObject({ status: 'open', environment: 'dev', action: 'suspend', counts: { items: 2, pending: 2 } });
    expect(body.items).toEqual([
      expect.objectContaining({ agent: 'helper', owner: 'alice@example.com', status: 'pending', unused: { toolset: ['tool:everything/get-sum'], may_delegate_to: ['summarizer'], observed_since: expect.any(String) } }),
      expect.objectContaining({ agent: 'idle-bot', owner: 'bob@example.com', status: 'pending', unused: { toolset: ['tool:everything/echo'], may_delegate_to: [], observed_since: expect.any(String) } }),
    ]);
    // Both agents are younger than the window: the evidence starts at their registration.
    for (const item of body.items) expect(Date.parse(item.unused.observed_since)).toBeGreaterThan(Date.now() - 60_000);
    const told = await until('both owners notified', () => {
      const got = receiver.bodies.filter((b) => b.type === 'lifecycle.review_requested');
      return got.length === 2 && got;
    });
    expect(told.map((b) => b.event.actor.person).sort()).toEqual(['alice@example.com', 'bob@example.com']);
    expect(told[0]!.event.data).toMatchObject({ campaign });
  });

  it('shows an owner only the items of their own agents', async () => {
    const seen = await readJson(await server.api('GET', `/v1/reviews/${campaign}`, undefined, alice));
    expect(seen.items.map((i: { agent: string }) => i.agent)).toEqual(['helper']);
  });

  it("lets the owner trim their agent's card through the registry, and refuses what it does not hold or what is not theirs", async () => {
    const wrong = await server.api('POST', `/v1/reviews/${campaign}/items/helper/trim`, { toolset: ['tool:everything/not-granted'] }, alice);
    expect(wrong.status).toBe(400);
    expect(await readJson(wrong)).toMatchObject({ code: 'ERR_REVIEW_TRIM_INVALID' });
    const notTheirs = await server.api('POST', `/v1/reviews/${campaign}/items/idle-bot/certify`, {}, alice);
    expect(notTheirs.status).toBe(403);
    expect(await readJson(notTheirs)).toMatchObject({ code: 'ERR_FORBIDDEN' });
    expect((await readJson(await server.api('GET', '/v1/agents/helper'))).toolset).toEqual(['tool:everything/echo', 'tool:everything/get-sum']);

    const trim = await server.api('POST', `/v1/reviews/${campaign}/items/helper/trim`, { toolset: ['tool:everything/get-sum'], may_delegate_to: ['summarizer'], note: 'never used' }, alice);
    expect(trim.status, await trim.clone().text()).toBe(200);
    expect(await readJson(trim)).toMatchObject({ status: 'trimmed', decided_by: 'alice', removed: { toolset: ['tool:everything/get-sum'], roles: [], may_delegate_to: ['summarizer'] } });
    expect(await readJson(await server.api('GET', '/v1/agents/helper'))).toMatchObject({ toolset: ['tool:everything/echo'], may_delegate_to: [] });
    const [trimmed] = await trailOf(server, 'lifecycle.agent_trimmed');
    expect(trimmed).toMatchObject({ actor: { agent: 'helper', person: 'alice' }, data: { campaign, resources: ['tool:everything/get-sum', 'delegate:summarizer'] } });

    const again = await server.api('POST', `/v1/reviews/${campaign}/items/helper/certify`, {}, alice);
    expect(again.status).toBe(409);
    expect(await readJson(again)).toMatchObject({ code: 'ERR_REVIEW_ITEM_DECIDED' });
  });

  it('reminds only the owners of pending items', async () => {
    const before = receiver.bodies.length;
    expect(await readJson(await server.api('POST', `/v1/reviews/${campaign}/remind`, {}))).toEqual({ reminded: 1 });
    const reminder = await until('a reminder', () => receiver.bodies.slice(before).find((b) => b.type === 'lifecycle.review_reminded'));
    expect(reminder.event).toMatchObject({ resource: 'idle-bot', actor: { person: 'bob@example.com' } });
    expect(bob).toBeDefined();
  });

  it('suspends what nobody certified once the due date passes (the periodic check), and signs the outcome', async () => {
    server.clock.advance(15 * DAY);
    const closed = await until('the campaign closed by the periodic check', async () => {
      const c = await readJson(await server.api('GET', `/v1/reviews/${campaign}`));
      return c.status === 'closed' && c;
    });
    expect(closed.counts).toEqual({ items: 2, trimmed: 1, suspended: 1 });
    expect((await readJson(await server.api('GET', '/v1/agents/idle-bot'))).status).toBe('suspended');
    expect((await readJson(await server.api('GET', '/v1/agents/helper'))).status).toBe('active');
    expect((await trailOf(server, 'lifecycle.suspended')).map((e) => e.resource)).toEqual(['idle-bot']);

    const signed = await readJson(await server.api('GET', `/v1/reviews/${campaign}/report`));
    const { vkey } = await readJson(await server.api('GET', '/v1/audit/checkpoints'));
    expect(verifyReviewReport(signed, vkey)).toMatchObject({ campaign, pinned: true, summary: { items: 2, trimmed: 1, suspended: 1 } });
    const forged = structuredClone(signed);
    forged.report.items[1].status = 'certified';
    forged.report.summary = { items: 2, trimmed: 1, certified: 1 };
    expect(() => verifyReviewReport(forged, vkey)).toThrow(expect.objectContaining({ code: 'ERR_REVIEW_REPORT_INVALID' }));
    expect(() => verifyReviewReport(signed, vkey.replace(/\+[0-9a-f]{8}\+/, '+00000000+'))).toThrow(expect.objectContaining({ code: 'ERR_REVIEW_REPORT_INVALID' }));

    const closedTwice = await server.api('POST', `/v1/reviews/${campaign}/close`, {});
    expect(closedTwice.status).toBe(409);
    expect(await readJson(closedTwice)).toMatchObject({ code: 'ERR_REVIEW_CLOSED' });
  });

  // The CLI is a client of the same API: once is enough (and spares a second dialect's process spawns).
  it.runIf(dialect === 'sqlite')('exports the report and verifies it from the CLI, and refuses a changed one', async () => {
    const mandate = cli(server);
    const out = path.join(server.dataDir, 'review.json');
    const exported = await mandate(['review', 'report', campaign, '--out', out]);
    expect(exported, exported.stderr).toMatchObject({ code: 0 });
    const { vkey } = await readJson(await server.api('GET', '/v1/audit/checkpoints'));
    const verified = await mandate(['review', 'verify', out, '--vkey', vkey]);
    expect(verified, verified.stderr).toMatchObject({ code: 0 });
    expect(verified.stdout).toContain(`report of ${campaign}: signature valid`);
    const doc = JSON.parse(fs.readFileSync(out, 'utf8'));
    doc.report.items[0].owner = 'mallory@example.com';
    fs.writeFileSync(out, JSON.stringify(doc));
    const refused = await mandate(['review', 'verify', out]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('ERR_REVIEW_REPORT_INVALID');

    const list = await mandate(['review', 'list']);
    expect(list.stdout).toMatch(new RegExp(`${campaign}\\s+closed\\s+dev\\s+2`));
  });

  it('trims unused items of what nobody decided when the campaign says trim', async () => {
    await server.api('POST', '/v1/agents/idle-bot/resume', {});
    const res = await server.api('POST', '/v1/reviews', { environment: 'dev', due: '1d', action: 'trim', unused_days: 7 });
    const second = await readJson(res);
    expect(res.status, JSON.stringify(second)).toBe(201);
    // alice's token expired with the clock; security decides for her.
    const certified = await server.api('POST', `/v1/reviews/${second.id}/items/helper/certify`, { note: 'still needed' });
    expect(certified.status, await certified.clone().text()).toBe(200);
    const closed = await readJson(await server.api('POST', `/v1/reviews/${second.id}/close`, {}));
    expect(closed.counts).toEqual({ items: 2, certified: 1, trimmed: 1 });
    expect(await readJson(await server.api('GET', '/v1/agents/idle-bot'))).toMatchObject({ status: 'active', toolset: [] });
  });

  it('finishes a close that a dead closer left half done', async () => {
    const res = await server.api('POST', '/v1/reviews', { environment: 'dev', due: '30d', action: 'suspend' });
    const third = await readJson(res);
    expect(res.status).toBe(201);
    // A replica began closing it and died: the campaign is stuck closing, no owner may decide.
    expect(await reviewsRepository(server.ctx.store.db).beginClose(third.id, server.clock.now().toISOString())).toBe(true);
    const late = await server.api('POST', `/v1/reviews/${third.id}/items/helper/certify`, {});
    expect(await readJson(late)).toMatchObject({ code: 'ERR_REVIEW_CLOSED' });
    server.clock.advance(6 * 60_000);
    const closed = await until('the periodic check to take the close over', async () => {
      const c = await readJson(await server.api('GET', `/v1/reviews/${third.id}`));
      return c.status === 'closed' && c;
    });
    expect(closed.counts).toEqual({ items: 2, suspended: 2 });
    expect(verifyReviewReport(await readJson(await server.api('GET', `/v1/reviews/${third.id}/report`)))).toMatchObject({ campaign: third.id });
  });

  it('refuses a campaign with bad input or nothing in scope, and changes nothing', async () => {
    const bad = await server.api('POST', '/v1/reviews', { due: 'soon', action: 'delete' });
    expect(bad.status).toBe(400);
    expect(await readJson(bad)).toMatchObject({ code: 'ERR_VALIDATION' });
    const empty = await server.api('POST', '/v1/reviews', { environment: 'prod' });
    expect(empty.status).toBe(409);
    expect(await readJson(empty)).toMatchObject({ code: 'ERR_REVIEW_EMPTY' });
    expect((await readJson(await server.api('GET', '/v1/reviews'))).campaigns).toHaveLength(3);
  });
});
