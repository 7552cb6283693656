import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentRuntime, type Mandate, MandateRequestError } from '../src/sdk/runtime.ts';
import { startUpstream } from './broker.peers.ts';
import { CODE_HASH, bootstrap, decode, personToken, register } from './fixtures.ts';
import { dialects, readJson, startTestServer, tempDir, type TestServer } from './harness.ts';
import { exchangeAs } from './mandates.kit.ts';

/**
 * A mandate limited to one customer's records (RFC 9396 `mandate_record`), enforced at both
 * enforcement points against real peers: a stdio MCP server that logs every call it receives and a
 * loopback HTTP API that records every request. A reach for another record is refused with the
 * exact code, names the field, and reaches neither upstream.
 */
const ORDERS = path.resolve(import.meta.dirname, 'peers/orders-server.ts');

const ordersBot = {
  id: 'orders-bot',
  name: 'Orders bot',
  owner: 'alice@example.com',
  environment: 'dev',
  roles: ['operator'],
  code_hashes: [CODE_HASH],
  toolset: ['tool:orders/*', 'http:shop:*:/**'],
  may_delegate_to: ['orders-helper'],
};
const ordersHelper = { ...ordersBot, id: 'orders-helper', name: 'Orders helper', may_delegate_to: [] };
const RECORDS = { fields: { customer_id: ['42'], amount: { max: 100 } } };

describe.each(await dialects())('record constraints in mandates on %s', (dialect) => {
  let server: TestServer;
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let parent: AgentRuntime;
  let child: AgentRuntime;
  let mandate: Mandate;
  let client: Client;
  let log: string;

  const mcpCalls = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).length : 0);
  const refusalOf = (result: unknown) => (result as CallToolResult)._meta?.['mandate/refusal'] as { code: string; field?: string } | undefined;
  const shop = (m: Mandate, target: string, init: RequestInit = {}) => parent.fetchWith(m)(`${server.url}/broker/shop${target}`, init);

  beforeAll(async () => {
    server = await startTestServer(dialect);
    log = path.join(tempDir('mandate-orders-'), 'calls.jsonl');
    upstream = await startUpstream('unused-secret-value-0000');
    await register(server, ordersBot);
    await register(server, ordersHelper);
    expect((await server.api('POST', '/v1/servers', { name: 'orders', transport: 'stdio', command: [process.execPath, ORDERS], env: { ORDERS_LOG: log } })).status).toBe(201);
    expect((await server.api('PUT', '/v1/secrets/shop_key', { value: 'shop-key-3e9d7c1b5a' })).status).toBe(200);
    expect((await server.api('POST', '/v1/connections', { name: 'shop', base_url: `${upstream.url}/api`, inject: ['header:X-Api-Key={{secret:shop_key}}'], allow: ['GET /**', 'POST /**'], endpoints: [{ match: 'GET /refunds', arguments: { type: 'object', properties: { customer_id: { type: 'string' }, amount: { type: 'integer' } } } }] })).status).toBe(201);
    parent = await bootstrap(server, 'orders-bot', { environment: 'dev' });
    child = await bootstrap(server, 'orders-helper', { environment: 'dev' });
    mandate = await parent.obtainMandate({
      subjectToken: await personToken(server, 'alice@example.com'),
      scope: 'tool:orders/* http:shop:*:/**',
      resource: [`${server.url}/mcp/orders`, `${server.url}/broker/shop`],
      records: RECORDS,
    });
    const transport = new StreamableHTTPClientTransport(new URL(`${server.url}/mcp/orders`), { fetch: parent.fetchWith(mandate) });
    client = new Client({ name: 'orders-agent', version: '1.0.0' });
    await client.connect(transport);
  });

  afterAll(async () => {
    await client?.close();
    await upstream?.close();
    await server?.close();
  });

  it('carries the constraints in the mandate and shows them in introspection', async () => {
    expect(decode(mandate.token).authorization_details).toEqual([{ type: 'mandate_record', ...RECORDS }]);
    const res = await server.api('POST', '/oauth/introspect', new URLSearchParams({ token: mandate.token }).toString(), { 'content-type': 'application/x-www-form-urlencoded' });
    const body = await readJson(res);
    expect([res.status, body.active]).toEqual([200, true]);
    expect(body.authorization_details).toEqual([{ type: 'mandate_record', ...RECORDS }]);
    expect(server.audit.ofType('token.issued').at(-1)!.reasons!.record).toBe('constrained: amount, customer_id');
  });

  it('forwards a tool call on the allowed record, and refuses another record by tool argument with nothing forwarded', async () => {
    const allowed = await client.callTool({ name: 'get_orders', arguments: { customer_id: '42' } });
    expect(((allowed as CallToolResult).content[0] as { text: string }).text).toBe('orders of customer 42');
    expect(mcpCalls()).toBe(1);
    for (const args of [{ customer_id: '43' }, { customer_id: '42', filter: { customer_id: '43' } }]) {
      const refused = await client.callTool({ name: 'get_orders', arguments: args });
      expect(refusalOf(refused)).toEqual({ code: 'ERR_RECORD_CONSTRAINT', field: 'customer_id' });
      expect((refused as CallToolResult).isError).toBe(true);
    }
    const over = await client.callTool({ name: 'refund', arguments: { customer_id: '42', amount: 101 } });
    expect(refusalOf(over)).toEqual({ code: 'ERR_RECORD_CONSTRAINT', field: 'amount' });
    expect(mcpCalls()).toBe(1);
    const decision = server.audit.events.filter((e) => e.type === 'tool.decision' && e.denial_reason === 'ERR_RECORD_CONSTRAINT').at(-1)!;
    expect(decision.reasons!.record).toBe('amount is above 100');
    // The refused values stay out of the trail.
    expect(JSON.stringify(server.audit.events)).not.toContain('"43"');
  });

  it('refuses another record in an HTTP JSON body and in the query string, forwarding nothing', async () => {
    const ok = await shop(mandate, '/orders?customer_id=42', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"customer_id":"42","amount":5}' });
    expect(ok.status).toBe(200);
    expect(upstream.received.at(-1)!.body).toBe('{"customer_id":"42","amount":5}');
    const before = upstream.received.length;
    const attempts: Array<[string, RequestInit, string]> = [
      ['/orders', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"customer_id":"43"}' }, 'customer_id'],
      ['/orders', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"customer_id":"42","customer_id":"43"}' }, 'customer_id'],
      ['/orders', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'customer_id=43' }, 'customer_id'],
      ['/orders', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"customer_id":"43"}' }, '(arguments)'],
      ['/orders?customer_id=43', {}, 'customer_id'],
      ['/orders?customer_id=42&customer_id=43', {}, 'customer_id'],
      ['/orders?customer_id%5B%5D=43', {}, 'customer_id'],
      ['/refunds?customer_id=42&amount=500', {}, 'amount'],
    ];
    for (const [target, init, field] of attempts) {
      const res = await shop(mandate, target, init);
      const body = await readJson(res);
      expect([target, res.status, body.error, body.field]).toEqual([target, 403, 'ERR_RECORD_CONSTRAINT', field]);
    }
    expect(upstream.received.length).toBe(before);
  });

  it('forwards the body it checked: duplicate JSON keys cannot smuggle another value past the check', async () => {
    // JSON.parse keeps the last of duplicate keys; an upstream keeping the first would read 43.
    const res = await shop(mandate, '/orders', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"customer_id":"43","customer_id":"42"}' });
    expect(res.status).toBe(200);
    expect(upstream.received.at(-1)!.body).toBe('{"customer_id":"42"}');
  });

  it('refuses a sub-agent that widens or drops a constraint at exchange, and lets it narrow them', async () => {
    const ask = (records: { fields: Record<string, unknown> } | undefined) =>
      child.obtainMandate({ subjectToken: mandate.token, scope: 'tool:orders/get_orders', resource: `${server.url}/mcp/orders`, ...(records ? { records: records as never } : {}) });
    const refusals: Array<[object, RegExp]> = [
      [{ fields: { customer_id: ['42', '43'], amount: { max: 100 } } }, /customer_id allows a value its parent does not/],
      [{ fields: { customer_id: ['42'], amount: { max: 1000 } } }, /amount raises max above 100/],
      [{ fields: { customer_id: ['42'] } }, /amount is dropped/],
    ];
    for (const [records, description] of refusals) {
      const refusedBefore = server.audit.ofType('token.refused').length;
      const error = await ask(records as never).then(() => null, (e: unknown) => e);
      expect(error).toBeInstanceOf(MandateRequestError);
      expect((error as MandateRequestError).error).toBe('invalid_authorization_details');
      expect((error as MandateRequestError).message).toMatch(description);
      expect(server.audit.ofType('token.refused').at(-1)!.denial_reason).toBe('ERR_RECORD_EXCEEDS_PARENT');
      expect(server.audit.ofType('token.refused')).toHaveLength(refusedBefore + 1);
    }
    // Asking for nothing keeps the parent's; asking for less narrows.
    expect(decode((await ask(undefined)).token).authorization_details).toEqual([{ type: 'mandate_record', ...RECORDS }]);
    const narrower = { fields: { customer_id: ['42'], amount: { max: 10 } } };
    expect(decode((await ask(narrower)).token).authorization_details).toEqual([{ type: 'mandate_record', ...narrower }]);
  });

  it('answers the granted details in the token response (RFC 9396 §7), and an unknown type with invalid_authorization_details', async () => {
    const alice = await personToken(server, 'alice@example.com');
    const asked = [{ type: 'mandate_task', task_id: 'refund-42' }, { type: 'mandate_record', ...RECORDS }];
    const granted = await exchangeAs(server, parent, alice, `${server.url}/mcp/orders`, { scope: 'tool:orders/*', authorization_details: JSON.stringify(asked) });
    expect([granted.status, granted.body.authorization_details]).toEqual([200, [{ type: 'mandate_record', ...RECORDS }]]);
    const unknown = await exchangeAs(server, parent, alice, `${server.url}/mcp/orders`, { scope: 'tool:orders/*', authorization_details: JSON.stringify([{ type: 'payment_initiation', amount: 5 }]) });
    expect([unknown.status, unknown.body.error, unknown.body.access_token]).toEqual([400, 'invalid_authorization_details', undefined]);
    expect(server.audit.ofType('token.refused').at(-1)!.denial_reason).toBe('ERR_AUTHORIZATION_DETAILS_INVALID');
  });

  it('answers a malformed mandate_record with invalid_authorization_details (RFC 9396 §5)', async () => {
    const error = await parent
      .obtainMandate({ subjectToken: await personToken(server, 'alice@example.com'), scope: 'tool:orders/*', resource: `${server.url}/mcp/orders`, records: { fields: { customer_id: [] } } as never })
      .then(() => null, (e: unknown) => e);
    expect((error as MandateRequestError).error).toBe('invalid_authorization_details');
    expect(server.audit.ofType('token.refused').at(-1)!.denial_reason).toBe('ERR_AUTHORIZATION_DETAILS_INVALID');
  });

  it('lets a Cedar policy on context.args decide at both enforcement points, and explains which argument decided', async () => {
    const running = await readJson(await server.api('GET', '/v1/policies?files=true'));
    // Typed from the pinned tools' input schemas and the shop endpoint's declared arguments.
    expect(running.arguments.type).toBe('type Args = { "amount"?: Long, "customer_id"?: String, "filter"?: { "customer_id"?: String }, "note"?: String };');
    const limit = '@id("refund-limit")\n@reason("refunds above 50 need a person")\nforbid (principal, action, resource) when { context has args && context.args has amount && context.args.amount > 50 };\n';
    const applied = await server.api('PUT', '/v1/policies', { files: [...running.files, { file: 'refund-limit.cedar', text: limit }] });
    expect(applied.status).toBe(200);
    try {
      const small = await client.callTool({ name: 'refund', arguments: { customer_id: '42', amount: 10 } });
      expect(((small as CallToolResult).content[0] as { text: string }).text).toBe('refunded 10 to customer 42');
      const calls = mcpCalls();
      const large = await client.callTool({ name: 'refund', arguments: { customer_id: '42', amount: 60 } });
      expect([refusalOf(large)?.code, ((large as CallToolResult).content[0] as { text: string }).text]).toEqual([undefined, 'Mandate refused this call: refunds above 50 need a person']);
      expect(server.audit.events.filter((e) => e.type === 'tool.decision').at(-1)).toMatchObject({ denial_reason: 'ERR_POLICY_DENIED', reasons: { policies: ['refund-limit'] } });
      expect(mcpCalls()).toBe(calls);

      expect((await shop(mandate, '/refunds?customer_id=42&amount=10')).status).toBe(200);
      const before = upstream.received.length;
      const refused = await shop(mandate, '/refunds?customer_id=42&amount=60');
      expect([refused.status, (await readJson(refused)).error]).toEqual([403, 'ERR_POLICY_DENIED']);
      expect(upstream.received.length).toBe(before);

      const question = {
        principal: { instance: parent.instanceId, agent: { id: 'orders-bot', roles: ['operator'], owner: 'alice@example.com', environment: 'dev', toolset: ['orders/*'] } },
        person: 'alice@example.com',
        action: 'tools/call',
        resource: { type: 'tool', server: 'orders', name: 'refund', highImpact: false },
        context: { scope: ['tool:orders/*'], delegation: { depth: 0, chain: ['alice@example.com'] }, environment: 'dev', risk: 0, approval: 'none', args: { customer_id: '42', amount: 60 } },
      };
      const explained = await readJson(await server.api('POST', '/v1/policies/explain', question));
      expect(explained.decision.policies).toEqual(['refund-limit']);
      expect(explained.text).toContain('reads context.args.amount = 60');
    } finally {
      expect((await server.api('PUT', '/v1/policies', { files: running.files })).status).toBe(200);
    }
  });
});
