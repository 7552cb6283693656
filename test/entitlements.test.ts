import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentRuntime } from '../src/sdk/runtime.ts';
import { bootstrap, decode, register } from './fixtures.ts';
import { addEverything, closeSessions, operatorCard, text } from './governance.kit.ts';
import { dialects, readJson, startTestServer, type TestServer } from './harness.ts';
import { exchangeAs, expectRefused, forge, mandateRows } from './mandates.kit.ts';
import crypto from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/** A person token from the development issuer, carrying these groups. */
async function personIn(server: TestServer, subject: string, groups: string[] = []): Promise<string> {
  const res = await server.api('POST', '/v1/users/token', { subject, ...(groups.length ? { groups } : {}) });
  expect(res.status).toBe(200);
  return (await readJson(res)).token;
}

/** A rule on the person's groups: `context.person in Mandate::Group::"operators"`. */
const SUMS_FOR_OPERATORS = `
@id("sums-for-operators")
@reason("only persons in group operators may have an agent add numbers")
forbid (principal, action == Mandate::Action::"tools/call", resource == Mandate::Tool::"everything/get-sum")
unless { context has person && context.person in Mandate::Group::"operators" };
`;

const CARD = operatorCard('ledger-bot', ['*'], { may_delegate_to: ['ledger-helper'] });
const HELPER = operatorCard('ledger-helper', ['*'], { on_behalf_of: 'optional' });
const WHOLE = 'tool:everything/*';

describe.each(await dialects())("a person's rights limit what an agent may do for them, on %s", (dialect) => {
  let server: TestServer;
  let runtime: AgentRuntime;
  let resource: string;

  beforeAll(async () => {
    server = await startTestServer(dialect);
    await addEverything(server);
    await register(server, CARD);
    await register(server, HELPER);
    runtime = await bootstrap(server, CARD.id, { environment: 'dev' });
    resource = `${server.url}/mcp/everything`;
  });
  afterAll(async () => {
    await closeSessions();
    await server?.close();
  });

  const exchange = async (subject: string, groups: string[], scope = WHOLE) => exchangeAs(server, runtime, await personIn(server, subject, groups), resource, { scope });
  const setEntitlement = (group: string, items: string[]) => server.api('PUT', `/v1/entitlements/${group}`, { items });

  it('leaves mandates as they were while no entitlements are configured', async () => {
    expect(await readJson(await server.api('GET', '/v1/entitlements'))).toEqual({ configured: false, entitlements: [] });
    const answer = await exchange('carol@example.com', []);
    expect(answer.status).toBe(200);
    expect(answer.body.scope).toBe(WHOLE);
    expect(decode(answer.body.access_token!).groups).toBeUndefined();
  });

  it("grants a person in group A only A's items, though card and request ask for more", async () => {
    expect((await setEntitlement('finance', ['tool:everything/echo', 'tool:billing/*'])).status).toBe(200);
    const before = server.audit.events.length;
    const answer = await exchange('alice@example.com', ['finance', 'staff']);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.scope).toBe('tool:everything/echo');
    const claims = decode(answer.body.access_token!);
    expect(claims.scope).toBe('tool:everything/echo');
    expect(claims.groups).toEqual(['finance', 'staff']);
    const issued = server.audit.events.slice(before).find((e) => e.type === 'token.issued')!;
    expect(issued.reasons).toMatchObject({ scope: 'tool:everything/echo', limited_by: 'person', entitled_groups: ['finance'] });
    // The admin change is in the trail.
    expect(server.audit.events.some((e) => e.type === 'admin.entitlement_set' && e.chain === 'system')).toBe(true);
  });

  it('grants the union over the groups a person is in', async () => {
    expect((await setEntitlement('support', ['tool:everything/get-sum'])).status).toBe(200);
    const answer = await exchange('alice@example.com', ['finance', 'support']);
    expect(answer.body.scope).toBe('tool:everything/echo tool:everything/get-sum');
    const exact = await exchange('alice@example.com', ['finance'], 'tool:everything/echo');
    expect(exact.body.scope).toBe('tool:everything/echo');
    expect(server.audit.ofType('token.issued').at(-1)!.reasons).toMatchObject({ limited_by: 'request' });
  });

  it('refuses a person in no entitled group with invalid_scope ERR_SCOPE_NOT_ENTITLED, and issues nothing', async () => {
    const rows = await mandateRows(server);
    const refused = await expectRefused(server, () => exchange('mallory@example.com', ['sales']), {
      error: 'invalid_scope',
      code: 'ERR_SCOPE_NOT_ENTITLED',
      description: /the person mallory@example\.com lacks the right: scope tool:everything\/\* is outside the entitlements of their groups sales/,
    });
    expect(refused.body.access_token).toBeUndefined();
    await expectRefused(server, () => exchange('nobody@example.com', []), { error: 'invalid_scope', code: 'ERR_SCOPE_NOT_ENTITLED', description: /no groups/ });
    // In a group with rights, but asking only for what the group lacks.
    await expectRefused(server, () => exchange('alice@example.com', ['finance'], 'tool:everything/get-sum'), { error: 'invalid_scope', code: 'ERR_SCOPE_NOT_ENTITLED' });
    expect(await mandateRows(server)).toBe(rows);
    expect(server.audit.ofType('token.refused').at(-1)!.denial_reason).toBe('ERR_SCOPE_NOT_ENTITLED');
  });

  it("reads groups from a trusted issuer's verified groups claim, and refuses a malformed one", async () => {
    const idp = crypto.generateKeyPairSync('ed25519');
    const jwk = { ...idp.publicKey.export({ format: 'jwk' }), kid: 'idp-1', alg: 'EdDSA' };
    const trusted = await server.api('POST', '/v1/issuers', { issuer: 'https://idp.example', jwks: { keys: [jwk] } });
    expect(trusted.status, await trusted.clone().text()).toBe(201);
    const now = Math.floor(Date.now() / 1000);
    const token = (claims: object) => forge({ alg: 'EdDSA', typ: 'JWT', kid: 'idp-1' }, { iss: 'https://idp.example', sub: 'erin@example.com', aud: server.ctx.issuer, iat: now, exp: now + 600, ...claims }, idp.privateKey);
    const answer = await exchangeAs(server, runtime, token({ groups: ['finance'] }), resource, { scope: WHOLE });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.scope).toBe('tool:everything/echo');
    expect(decode(answer.body.access_token!).groups).toEqual(['finance']);
    await expectRefused(server, () => exchangeAs(server, runtime, token({ groups: 'finance' }), resource, { scope: WHOLE }), { error: 'invalid_request', code: 'ERR_SUBJECT_INVALID', description: /groups claim/ });
    // Groups written into a token by someone other than the issuer are not read.
    const forged = forge({ alg: 'EdDSA', typ: 'JWT', kid: 'idp-1' }, { iss: 'https://idp.example', sub: 'erin@example.com', aud: server.ctx.issuer, iat: now, exp: now + 600, groups: ['finance'] }, crypto.generateKeyPairSync('ed25519').privateKey);
    await expectRefused(server, () => exchangeAs(server, runtime, forged, resource, { scope: WHOLE }), { error: 'invalid_request', code: 'ERR_SUBJECT_INVALID' });
  });

  it("hands a sub-agent the person's groups and never more than the parent's limited scope", async () => {
    const parent = await exchange('alice@example.com', ['finance']);
    expect(parent.body.scope).toBe('tool:everything/echo');
    const helper = await bootstrap(server, HELPER.id, { environment: 'dev' });
    const child = await exchangeAs(server, helper, parent.body.access_token!, resource, { scope: 'tool:everything/echo' });
    expect(child.status, JSON.stringify(child.body)).toBe(200);
    expect(decode(child.body.access_token!)).toMatchObject({ sub: 'alice@example.com', groups: ['finance'], scope: 'tool:everything/echo' });
    await expectRefused(server, () => exchangeAs(server, helper, parent.body.access_token!, resource, { scope: WHOLE }), { error: 'invalid_scope', code: 'ERR_SCOPE_EXCEEDS_PARENT' });
  });

  it('still refuses by the card first: an item beyond the toolset is ERR_SCOPE_INVALID', async () => {
    await expectRefused(server, () => exchange('alice@example.com', ['finance'], 'tool:billing/pay'), { error: 'invalid_scope', code: 'ERR_SCOPE_INVALID' });
  });

  it('refuses bad entitlements and unknown groups, changing nothing', async () => {
    const before = await readJson(await server.api('GET', '/v1/entitlements'));
    const bad = await setEntitlement('finance', ['admin']);
    expect(bad.status).toBe(400);
    expect((await readJson(bad)).code).toBe('ERR_VALIDATION');
    expect((await setEntitlement('no%20spaces', ['tool:x/y'])).status).toBe(400);
    const missing = await server.api('DELETE', '/v1/entitlements/ghosts');
    expect(missing.status).toBe(404);
    expect((await readJson(missing)).code).toBe('ERR_ENTITLEMENT_NOT_FOUND');
    expect(await readJson(await server.api('GET', '/v1/entitlements'))).toEqual(before);
  });

  it('applies a GitOps file all or nothing', async () => {
    const before = await readJson(await server.api('GET', '/v1/entitlements'));
    const broken = { entitlements: [{ group: 'ops', items: ['tool:everything/*'] }, { group: 'finance', items: ['tool:everything/echo', 'not-a-scope'] }] };
    const refused = await server.api('PUT', '/v1/entitlements', broken);
    expect(refused.status).toBe(400);
    const twice = await server.api('PUT', '/v1/entitlements', { entitlements: [{ group: 'ops', items: [WHOLE] }, { group: 'ops', items: [WHOLE] }] });
    expect(twice.status).toBe(400);
    expect(await readJson(await server.api('GET', '/v1/entitlements'))).toEqual(before);
    expect(server.audit.events.filter((e) => e.type === 'admin.entitlements_applied')).toHaveLength(0);

    const applied = await server.api('PUT', '/v1/entitlements', { entitlements: [{ group: 'operators', items: [WHOLE] }] });
    expect(applied.status).toBe(200);
    expect(await readJson(applied)).toEqual({ groups: ['operators'] });
    const now = await readJson(await server.api('GET', '/v1/entitlements'));
    expect(now.entitlements.map((e: { group: string; items: string[] }) => [e.group, e.items])).toEqual([['operators', [WHOLE]]]);
    expect(server.audit.events.filter((e) => e.type === 'admin.entitlements_applied')).toHaveLength(1);
    // finance lost its rights with the file.
    await expectRefused(server, () => exchange('alice@example.com', ['finance']), { error: 'invalid_scope', code: 'ERR_SCOPE_NOT_ENTITLED' });

    // An empty file switches the person limit off again.
    expect((await server.api('PUT', '/v1/entitlements', { entitlements: [] })).status).toBe(200);
    expect((await exchange('carol@example.com', [])).body.scope).toBe(WHOLE);
  });

  it('lets a Cedar policy on the person\'s groups deny or permit at the gateway', async () => {
    {
      const running = await readJson(await server.api('GET', '/v1/policies?files=true'));
      const rule = { file: 'persons.cedar', text: SUMS_FOR_OPERATORS };
      const applied = await server.api('PUT', '/v1/policies', { files: [...running.files.filter((f: { file: string }) => f.file !== rule.file), rule] });
      expect(applied.status, await applied.clone().text()).toBe(200);
      const call = async (groups: string[]) => {
        const mandate = await runtime.obtainMandate({ subjectToken: await personIn(server, 'dora@example.com', groups), scope: WHOLE, resource });
        const client = new Client({ name: 'ledger-bot', version: '1.0.0' });
        await client.connect(new StreamableHTTPClientTransport(new URL(resource), { fetch: runtime.fetchWith(mandate) }));
        try {
          return (await client.callTool({ name: 'get-sum', arguments: { a: 2, b: 3 } })) as CallToolResult;
        } finally {
          await client.close();
        }
      };
      const denied = await call(['staff']);
      expect(denied.isError).toBe(true);
      expect(text(denied)).toBe('Mandate refused this call: only persons in group operators may have an agent add numbers');
      const decision = server.audit.events.filter((e) => e.type === 'tool.decision' && e.resource === 'everything/get-sum').at(-1)!;
      expect(decision).toMatchObject({ decision: 'deny', denial_reason: 'ERR_POLICY_DENIED', reasons: { policies: ['sums-for-operators'] } });
      const permitted = await call(['operators', 'staff']);
      expect(permitted.isError, text(permitted)).toBeFalsy();
      expect(text(permitted)).toContain('5');
      expect(server.audit.events.filter((e) => e.type === 'tool.decision' && e.resource === 'everything/get-sum').at(-1)).toMatchObject({ decision: 'allow' });
    }
  });
});
