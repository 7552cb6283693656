import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGrant } from '../src/people/roles.ts';
import type { Mandate } from '../src/sdk/runtime.ts';
import { createAdminToken } from '../src/server/admin-tokens.ts';
import { bootstrap, register } from './fixtures.ts';
import { addEverything, agentSession, type AgentSession, closeSessions, operatorCard } from './governance.kit.ts';
import { dialects, readJson } from './harness.ts';
import { cli, startStored, type StoredServer } from './lifecycle.kit.ts';

/**
 * The inventory a security engineer asks for: which mandates stand right now, who delegated to
 * whom, what is left of each budget and when it ends; and per agent, which granted tools the trail
 * shows it never used. Real agents over the real gateway (server-everything), trail in the store.
 */
describe.each(await dialects())('the inventory of mandates and usage (%s)', { timeout: 60_000 }, (dialect) => {
  let server: StoredServer;
  let lead: AgentSession;
  let child: Mandate;

  beforeAll(async () => {
    server = await startStored(dialect);
    await addEverything(server);
    lead = await agentSession(server, operatorCard('lead', ['echo', 'get-sum'], { may_delegate_to: ['helper'] }), { budget: 50 });
    for (let i = 0; i < 2; i++) expect((await lead.call('echo', { message: `hello ${i}` })).isError).toBeFalsy();
    await register(server, operatorCard('helper', ['echo'], { owner: 'bob@example.com' }));
    const helper = await bootstrap(server, 'helper', { environment: 'dev' });
    child = await helper.obtainMandate({ subjectToken: lead.mandate.token, scope: 'tool:everything/echo', resource: `${server.url}/mcp/everything` });
  });
  afterAll(async () => {
    await closeSessions();
    await server?.close();
  });

  const list = async (query = '', headers?: Record<string, string>) => {
    const res = await server.api('GET', `/v1/mandates${query}`, undefined, headers);
    expect(res.status, await res.clone().text()).toBe(200);
    return readJson(res);
  };
  const jtiOf = (m: Mandate) => JSON.parse(Buffer.from(m.token.split('.')[1]!, 'base64url').toString()).jti as string;

  it('lists live mandates with their delegation tree, scope, budget left and expiry', async () => {
    const { mandates, next_cursor } = await list();
    expect(next_cursor).toBeNull();
    const parent = mandates.find((m: any) => m.agent === 'lead');
    const sub = mandates.find((m: any) => m.agent === 'helper');
    expect(parent).toMatchObject({ jti: jtiOf(lead.mandate), parent_jti: null, children: [jtiOf(child)], person: 'alice@example.com', state: 'live', scope: ['tool:everything/echo', 'tool:everything/get-sum'], budget: { limit: 50 } });
    expect(parent.budget.left).toBe(parent.budget.limit - parent.budget.spent);
    expect(sub).toMatchObject({ jti: jtiOf(child), parent_jti: jtiOf(lead.mandate), depth: 1, person: 'alice@example.com', scope: ['tool:everything/echo'], state: 'live' });
    expect(Date.parse(sub.expires_at)).toBeGreaterThan(Date.now());
  });

  it('filters by agent, instance and person, and pages by keyset without repeating a row', async () => {
    expect((await list('?agent=helper')).mandates.map((m: any) => m.agent)).toEqual(['helper']);
    expect((await list(`?instance=${lead.runtime.instanceId}`)).mandates.map((m: any) => m.agent)).toEqual(['lead']);
    expect((await list('?person=alice%40example.com')).mandates).toHaveLength(2);
    expect((await list('?person=nobody%40example.com')).mandates).toEqual([]);
    const first = await list('?limit=1');
    expect(first.mandates).toHaveLength(1);
    expect(first.next_cursor).toEqual(expect.any(String));
    const second = await list(`?limit=1&cursor=${first.next_cursor}`);
    expect(second.mandates).toHaveLength(1);
    expect(second.mandates[0].jti).not.toBe(first.mandates[0].jti);
    expect(second.next_cursor).toBeNull();
  });

  it('refuses a forged cursor or an unknown state and changes nothing', async () => {
    const forged = await server.api('GET', `/v1/mandates?cursor=${Buffer.from('{"x":1}').toString('base64url')}`);
    expect(forged.status).toBe(400);
    expect(await readJson(forged)).toMatchObject({ code: 'ERR_CURSOR_INVALID' });
    const state = await server.api('GET', '/v1/mandates?state=zombie');
    expect(state.status).toBe(400);
    expect(await readJson(state)).toMatchObject({ code: 'ERR_VALIDATION' });
  });

  it('shows an owner only the mandates of their own agents', async () => {
    const { token } = await createAdminToken(server.ctx.store.db, { name: 'bob@example.com', grants: [parseGrant('owner')!], now: new Date() });
    const seen = await list('', { authorization: `Bearer ${token}` });
    expect(seen.mandates.map((m: any) => m.agent)).toEqual(['helper']);
  });

  it('reports per agent the toolset items granted against those the trail shows used, and instances with their last activity', async () => {
    const res = await server.api('GET', '/v1/agents/lead/usage?window=30d');
    expect(res.status, await res.clone().text()).toBe(200);
    const usage = await readJson(res);
    expect(usage.granted).toEqual([
      { item: 'tool:everything/echo', calls: 2, last_used: expect.any(String) },
      { item: 'tool:everything/get-sum', calls: 0, last_used: null },
    ]);
    expect(usage.unused).toEqual(['tool:everything/get-sum']);
    expect(usage.used).toEqual([{ resource: 'everything/echo', action: 'tools/call', calls: 2, last_used: expect.any(String) }]);
    expect(usage.instances).toEqual([expect.objectContaining({ id: lead.runtime.instanceId, status: 'active', last_activity: expect.any(String) })]);
    expect(usage.window_seconds).toBe(30 * 86_400);
    expect((await readJson(await server.api('GET', '/v1/agents/helper/usage?window=1h'))).unused).toEqual(['tool:everything/echo']);
    expect((await server.api('GET', '/v1/agents/nobody/usage')).status).toBe(404);
    expect((await server.api('GET', '/v1/agents/lead/usage?window=soon')).status).toBe(400);
  });

  it('prints the tree as a table a person can read (mandate mandate list, agent usage)', async () => {
    const listed = await cli(server, ['mandate', 'list']);
    expect(listed.code, listed.stderr).toBe(0);
    const lines = listed.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^JTI\s+AGENT\s+INSTANCE\s+PERSON\s+STATE\s+SCOPE\s+BUDGET_LEFT\s+EXPIRES$/);
    expect(lines[1]).toMatch(new RegExp(`^${jtiOf(lead.mandate)}\\s+lead\\s+\\S+\\s+alice@example.com\\s+live\\s+tool:everything/echo tool:everything/get-sum\\s+\\d+/50\\s+in \\d+[smh]$`));
    expect(lines[2]).toMatch(new RegExp(`^└ ${jtiOf(child)}\\s+helper\\s+`));
    const usage = await cli(server, ['agent', 'usage', 'lead', '--window', '7d']);
    expect(usage.code, usage.stderr).toBe(0);
    expect(usage.stdout).toMatch(/tool:everything\/get-sum\s+UNUSED\s+0/);
    const instances = await cli(server, ['instance', 'list', '--agent', 'lead', '--activity']);
    expect(instances.code, instances.stderr).toBe(0);
    expect(instances.stdout).toMatch(new RegExp(`^${lead.runtime.instanceId}\\s+lead\\s+active\\s+\\S+\\s+20\\d\\d-\\S+Z\\s+spiffe://`, 'm'));
    const plain = await readJson(await server.api('GET', '/v1/instances?agent=lead'));
    expect(plain.instances[0]).not.toHaveProperty('last_activity');
  });

  it('moves a mandate from live to ended when its instance is revoked, children included', async () => {
    expect((await server.api('POST', `/v1/instances/${lead.runtime.instanceId}/revoke`, {})).status).toBe(200);
    expect((await list()).mandates).toEqual([]);
    const ended = await list('?state=ended');
    expect(Object.fromEntries(ended.mandates.map((m: any) => [m.agent, m.state]))).toEqual({ lead: 'revoked', helper: 'revoked' });
  });
});
