import type { AddressInfo } from 'node:net';
import { Role } from '@a2a-js/sdk';
import { ClientFactory, ClientFactoryOptions, JsonRpcTransportFactory } from '@a2a-js/sdk/client';
import { AgentEvent, type AgentExecutor, DefaultRequestHandler, InMemoryTaskStore } from '@a2a-js/sdk/server';
import { jsonRpcHandler, UserBuilder } from '@a2a-js/sdk/server/express';
import express from 'express';
import { sha256Hex } from '../../src/sdk/manifest.ts';
import { AgentRuntime } from '../../src/sdk/runtime.ts';
import { check, claimsOf, startEmbedded } from '../embedded.ts';

/**
 * An agent calling another agent through Mandate, both on the official A2A SDK: the planner finds
 * the billing agent by the card Mandate publishes, its message is decided by policy on the way,
 * and the billing agent receives a derived mandate (alice → planner → billing-agent) that it can
 * use only with its own key, only for what its card allows, and only while the planner's stands.
 */
const CODE = 'print("agent-to-agent example v1")';

// 1. The billing agent: an A2A server on loopback that answers with what it was handed.
let handed = '';
const app = express();
const listening = app.listen(0, '127.0.0.1');
await new Promise((resolve) => listening.once('listening', resolve));
const rpc = `http://127.0.0.1:${(listening.address() as AddressInfo).port}/rpc`;
const billingCard = {
  name: 'Billing agent',
  description: 'Answers invoice questions',
  version: '1.0.0',
  supportedInterfaces: [{ url: rpc, protocolBinding: 'JSONRPC', protocolVersion: '1.0', tenant: '' }],
  capabilities: { streaming: true, pushNotifications: false, extensions: [], extendedAgentCard: false },
  securitySchemes: {},
  securityRequirements: [],
  defaultInputModes: ['text/plain'],
  defaultOutputModes: ['text/plain'],
  skills: [],
  signatures: [],
};
const executor: AgentExecutor = {
  execute: async (ctx, bus) => {
    const said = ctx.userMessage.parts.map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('');
    const reply = `invoice for customer ${String(ctx.userMessage.metadata?.customer_id)}: 120 EUR (asked: ${said})`;
    bus.publish(AgentEvent.message({ messageId: crypto.randomUUID(), contextId: ctx.contextId, taskId: '', role: Role.ROLE_AGENT, parts: [{ content: { $case: 'text', value: reply }, metadata: undefined, filename: '', mediaType: 'text/plain' }], metadata: undefined, extensions: [], referenceTaskIds: [] }));
    bus.finished();
  },
  cancelTask: async () => {},
};
app.use('/rpc', (request, _response, next) => {
  handed = String(request.headers['x-mandate'] ?? '');
  next();
});
app.use('/rpc', jsonRpcHandler({ requestHandler: new DefaultRequestHandler(billingCard as never, new InMemoryTaskStore(), executor), userBuilder: UserBuilder.noAuthentication }));

const mandate = await startEmbedded('agent-to-agent');
try {
  console.log(`Embedded Mandate at ${mandate.url}`);

  // 2. Two agent cards: the planner may call billing over A2A; billing may read invoices.
  const codeHash = sha256Hex(CODE);
  const card = { environment: 'prod', code_hashes: [codeHash], roles: ['operator'] };
  await mandate.admin('POST', '/v1/agents', { ...card, id: 'planner', name: 'Planner', owner: 'alice@example.com', toolset: ['a2a:billing/*', 'http:ledger:GET:/**'] });
  await mandate.admin('POST', '/v1/agents', { ...card, id: 'billing-agent', name: 'Billing agent', owner: 'bob@example.com', toolset: ['http:ledger:GET:/invoices/**'] });
  const attest = async (id: string) => {
    const join = await mandate.admin('POST', `/v1/agents/${id}/join-tokens`, {});
    return AgentRuntime.bootstrap(mandate.url, { agent_id: id, join_token: String(join.token), code_hash: codeHash, environment: 'prod' });
  };
  const planner = await attest('planner');
  await attest('billing-agent');

  // 3. The billing agent behind Mandate, as its operator registers it (`mandate peer add billing …`).
  await mandate.admin('POST', '/v1/peers', { name: 'billing', url: rpc, card: billingCard, agent: 'billing-agent' });
  const base = `${mandate.url}/a2a/billing`;
  const published = (await (await fetch(`${base}/.well-known/agent-card.json`)).json()) as { supportedInterfaces: Array<{ url: string }> };
  console.log(`published card: endpoint ${published.supportedInterfaces[0]!.url}`);
  check(published.supportedInterfaces[0]!.url === base, 'the card names Mandate as the endpoint');

  // 4. The planner's mandate for alice: the billing agent, and the ledger it may pass on.
  const person = await mandate.admin('POST', '/v1/users/token', { subject: 'alice@example.com' });
  const own = await planner.obtainMandate({
    subjectToken: String(person.token),
    scope: 'a2a:billing/message/send http:ledger:GET:/**',
    resource: [base, `${mandate.url}/broker/ledger`],
  });

  // 5. An A2A call through Mandate, with the official client and the Mandate SDK's fetch.
  const factory = new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, { transports: [new JsonRpcTransportFactory({ fetchImpl: planner.fetchWith(own) })] }));
  const billing = await factory.createFromUrl(`${base}/`);
  const message = (said: string) => ({
    tenant: '',
    message: { messageId: crypto.randomUUID(), contextId: '', taskId: '', role: Role.ROLE_USER, parts: [{ content: { $case: 'text' as const, value: said }, metadata: undefined, filename: '', mediaType: 'text/plain' }], metadata: { customer_id: '42' }, extensions: [], referenceTaskIds: [] },
    configuration: undefined,
    metadata: undefined,
  });
  const answer = await billing.sendMessage(message('what is due?'));
  const text = JSON.stringify(answer).match(/invoice for customer [^"]*/)?.[0];
  console.log(`billing answered through Mandate: ${text}`);
  check(text?.startsWith('invoice for customer 42'), 'the billing agent answered');

  // 6. What the billing agent was handed: a derived mandate, narrower than the planner's.
  const derived = claimsOf(handed) as { sub: string; scope: string; act: { agent_id: string; act?: { agent_id: string } } };
  console.log(`billing agent's derived mandate: ${derived.sub} → ${derived.act.act?.agent_id} → ${derived.act.agent_id}, scope ${derived.scope}`);
  check(derived.scope === 'http:ledger:GET:/invoices/**', `derived scope ${derived.scope}`);

  // 7. A method the mandate does not cover is refused as an A2A error, never forwarded.
  try {
    await billing.cancelTask({ tenant: '', id: 'task-1', metadata: undefined });
    throw new Error('unexpected: tasks/cancel was forwarded');
  } catch (error) {
    console.log(`tasks/cancel refused: ${(error as Error).message}`);
    check(/does not cover a2a:billing\/tasks\/cancel/.test((error as Error).message), 'the refusal names the missing scope');
  }

  // 8. Revoking the planner's mandate ends the billing agent's derived one.
  const oauth = (endpoint: string, token: string) =>
    fetch(`${mandate.url}/oauth/${endpoint}`, { method: 'POST', headers: { authorization: `Bearer ${mandate.adminToken}`, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token }) });
  await oauth('revoke', own.token);
  const after = (await (await oauth('introspect', handed)).json()) as { active: boolean };
  console.log(`derived mandate after revoking the planner's: ${JSON.stringify(after)}`);
  check(after.active === false, 'the derived mandate ended with its parent');

  console.log('OK: the planner called the billing agent through Mandate; the billing agent got a narrower mandate that ended with the planner’s');
} finally {
  await mandate.close();
  listening.closeAllConnections();
  listening.close();
}
