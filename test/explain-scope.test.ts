import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentRuntime } from '../src/sdk/runtime.ts';
import { bootstrap, register } from './fixtures.ts';
import { addEverything, closeSessions, operatorCard } from './governance.kit.ts';
import { dialects, readJson, startTestServer, type TestServer } from './harness.ts';
import { exchangeAs, expectRefused } from './mandates.kit.ts';

// A card narrower than the server: echo and get-sum only.
const CARD = operatorCard('scope-bot', ['echo', 'get-sum']);
// A card with the whole server, for a person's entitlements to narrow.
const WIDE = operatorCard('wide-bot', ['*']);

describe.each(await dialects())('policy explain says which of request, card and person limited a scope, on %s', (dialect) => {
  let server: TestServer;
  let runtime: AgentRuntime;
  let wide: AgentRuntime;
  let resource: string;

  beforeAll(async () => {
    server = await startTestServer(dialect);
    await addEverything(server);
    await register(server, CARD);
    runtime = await bootstrap(server, CARD.id, { environment: 'dev' });
    await register(server, WIDE);
    wide = await bootstrap(server, WIDE.id, { environment: 'dev' });
    resource = `${server.url}/mcp/everything`;
  });
  afterAll(async () => {
    await closeSessions();
    await server?.close();
  });

  const personIn = async (subject: string, groups: string[]) => {
    const res = await server.api('POST', '/v1/users/token', { subject, ...(groups.length ? { groups } : {}) });
    expect(res.status).toBe(200);
    return (await readJson(res)).token as string;
  };
  const explain = async (person: string, groups: string[], scope: string, agent = CARD.id) => {
    const res = await server.api('POST', '/v1/mandates/explain-scope', { agent, person, groups, scope });
    expect(res.status).toBe(200);
    return readJson(res);
  };
  const exchange = async (person: string, groups: string[], scope: string, agent = CARD.id) =>
    exchangeAs(server, agent === WIDE.id ? wide : runtime, await personIn(person, groups), resource, { scope });

  /** The explanation's resulting scope is exactly what a real exchange grants. */
  const agrees = async (person: string, groups: string[], scope: string, agent = CARD.id) => {
    const explained = await explain(person, groups, scope, agent);
    const answer = await exchange(person, groups, scope, agent);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(explained.verdict).toBe('granted');
    expect(explained.scope).toBe(answer.body.scope);
    return explained;
  };

  it('says persons do not limit while no entitlements are configured, and grants what the exchange grants', async () => {
    const explained = await agrees('carol@example.com', [], 'tool:everything/echo tool:everything/get-sum');
    expect(explained.entitled).toBeNull();
    expect(explained.text).toContain('no entitlements configured: persons do not limit');
    expect(explained.items.map((i: { limited_by: string }) => i.limited_by)).toEqual(['request', 'request']);
  });

  it('names the card for an item beyond its toolset, with the exchange refusing by the same code', async () => {
    const explained = await explain('carol@example.com', [], 'tool:everything/echo tool:everything/add');
    expect(explained.verdict).toBe('ERR_SCOPE_INVALID');
    expect(explained.scope).toBeNull();
    expect(explained.items).toEqual([
      { item: 'tool:everything/echo', outcome: 'granted', limited_by: 'request', granted: ['tool:everything/echo'] },
      { item: 'tool:everything/add', outcome: 'removed', limited_by: 'card', granted: [] },
    ]);
    await expectRefused(server, () => exchange('carol@example.com', [], 'tool:everything/echo tool:everything/add'), {
      error: 'invalid_scope',
      code: explained.verdict,
    });
  });

  it('names the person where entitlements narrow or remove items, matching the exchange', async () => {
    expect((await server.api('PUT', '/v1/entitlements/finance', { items: ['tool:everything/echo'] })).status).toBe(200);
    const narrowed = await agrees('alice@example.com', ['finance', 'staff'], 'tool:everything/*', WIDE.id);
    expect(narrowed.scope).toBe('tool:everything/echo');
    expect(narrowed.limited_by).toBe('person');
    expect(narrowed.entitled_groups).toEqual(['finance']);
    expect(narrowed.items).toEqual([{ item: 'tool:everything/*', outcome: 'narrowed', limited_by: 'person', granted: ['tool:everything/echo'] }]);
    expect(narrowed.text).toContain('tool:everything/*: narrowed by the person to tool:everything/echo');

    const partly = await agrees('alice@example.com', ['finance'], 'tool:everything/echo tool:everything/get-sum');
    expect(partly.scope).toBe('tool:everything/echo');
    expect(partly.items[1]).toEqual({ item: 'tool:everything/get-sum', outcome: 'removed', limited_by: 'person', granted: [] });
    expect(partly.text).toContain('tool:everything/get-sum: removed by the person');

    const whole = await agrees('alice@example.com', ['finance'], 'tool:everything/echo');
    expect(whole.limited_by).toBe('request');
  });

  it('gives the refusal code of an exchange for a person in no entitled group', async () => {
    const explained = await explain('bob@example.com', ['staff'], 'tool:everything/echo');
    expect(explained.verdict).toBe('ERR_SCOPE_NOT_ENTITLED');
    expect(explained.scope).toBeNull();
    expect(explained.items).toEqual([{ item: 'tool:everything/echo', outcome: 'removed', limited_by: 'person', granted: [] }]);
    await expectRefused(server, () => exchange('bob@example.com', ['staff'], 'tool:everything/echo'), { error: 'invalid_scope', code: explained.verdict });
  });

  it('gives the refusal code of an exchange for a suspended agent', async () => {
    expect((await server.api('POST', `/v1/agents/${WIDE.id}/suspend`, {})).status).toBe(200);
    const explained = await explain('carol@example.com', [], 'tool:everything/echo', WIDE.id);
    expect(explained.verdict).toBe('ERR_AGENT_SUSPENDED');
    expect(explained.scope).toBeNull();
    const answer = await exchange('carol@example.com', [], 'tool:everything/echo', WIDE.id);
    expect(answer.status).not.toBe(200);
    expect(answer.body.access_token).toBeUndefined();
    expect(server.audit.ofType('token.refused').at(-1)!.denial_reason).toBe(explained.verdict);
    expect((await server.api('POST', `/v1/agents/${WIDE.id}/resume`, {})).status).toBe(200);
  });

  it('refuses a question about an unknown agent', async () => {
    const res = await server.api('POST', '/v1/mandates/explain-scope', { agent: 'nobody', person: 'a@example.com', scope: 'tool:everything/echo' });
    expect(res.status).toBe(404);
    expect((await readJson(res)).code).toBe('ERR_AGENT_NOT_FOUND');
  });
});
