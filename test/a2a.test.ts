import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli/main.ts';
import { TaskState } from '@a2a-js/sdk';
import type { Client } from '@a2a-js/sdk/client';
import type { AuditEvent } from '../src/audit/event.ts';
import type { AgentRuntime, Mandate } from '../src/sdk/runtime.ts';
import { CODE_HASH, bootstrap, decode, personToken, register } from './fixtures.ts';
import { dialects, readJson, startTestServer, tempDir, type TestServer } from './harness.ts';
import { type A2aPeer, a2aClient, startA2aPeer, userMessage } from './a2a.peers.ts';

/**
 * An agent calling another agent through Mandate, both real A2A agents on the official SDK: the
 * caller (planner) finds the callee (billing) by the card Mandate publishes, and every JSON-RPC
 * call goes through `/a2a/billing`, decided like a tool call. The callee receives a derived
 * mandate (person → planner → billing) that revoking the planner's mandate ends, mid-stream.
 */
const planner = {
  id: 'planner',
  name: 'Planner',
  owner: 'alice@example.com',
  environment: 'dev',
  roles: ['operator'],
  code_hashes: [CODE_HASH],
  toolset: ['a2a:billing/*', 'http:ledger:GET:/**'],
};
const billing = {
  id: 'billing-agent',
  name: 'Billing agent',
  owner: 'bob@example.com',
  environment: 'dev',
  roles: ['operator'],
  code_hashes: [CODE_HASH],
  toolset: ['http:ledger:GET:/invoices/**'],
  default_budget: 400,
};
const SCOPE = 'a2a:billing/message/send a2a:billing/message/stream a2a:billing/tasks/get http:ledger:GET:/**';

describe.each(await dialects())('agent to agent through Mandate (A2A), on %s', (dialect) => {
  let server: TestServer;
  let peer: A2aPeer;
  let caller: AgentRuntime;
  let callee: AgentRuntime;
  let mandate: Mandate;
  let client: Client;
  let base: string;

  const events = (type: string) => server.audit.events.filter((e: AuditEvent) => e.type === type);
  const forwarded = () => peer.received.length;
  const mandateFor = async (scope = SCOPE) =>
    caller.obtainMandate({ subjectToken: await personToken(server, 'alice@example.com'), scope, resource: [`${server.url}/a2a/billing`, `${server.url}/broker/ledger`] });
  /** A raw JSON-RPC request through Mandate with the caller's mandate. */
  const rpc = async (body: unknown, m = mandate) => {
    const response = await caller.fetchWith(m)(base, { method: 'POST', headers: { 'content-type': 'application/json', 'a2a-version': '1.0' }, body: JSON.stringify(body) });
    return { status: response.status, body: await readJson(response) };
  };

  beforeAll(async () => {
    server = await startTestServer(dialect);
    peer = await startA2aPeer({ tickMs: 40 });
    await register(server, planner);
    await register(server, billing);
    caller = await bootstrap(server, 'planner', { environment: 'dev' });
    callee = await bootstrap(server, 'billing-agent', { environment: 'dev' });
    const added = await server.api('POST', '/v1/peers', { name: 'billing', url: peer.rpc, card: peer.card, agent: 'billing-agent', methods: { 'tasks/cancel': { high_impact: true } } });
    if (added.status !== 201) throw new Error(`peer failed: ${added.status} ${await added.text()}`);
    const ledger = await server.api('POST', '/v1/connections', { name: 'ledger', base_url: `${peer.url}/api`, allow: ['GET /**'] });
    if (ledger.status !== 201) throw new Error(`connection failed: ${ledger.status} ${await ledger.text()}`);
    base = `${server.url}/a2a/billing`;
    mandate = await mandateFor();
    client = await a2aClient(base, caller.fetchWith(mandate));
  });

  afterAll(async () => {
    await peer?.close();
    await server?.close();
  });

  it('publishes the callee’s card with Mandate as its only endpoint and authorization server', async () => {
    const card = await readJson(await fetch(`${base}/.well-known/agent-card.json`));
    expect(card.name).toBe('Billing agent');
    expect(card.supportedInterfaces).toEqual([
      { url: base, protocolBinding: 'JSONRPC', protocolVersion: '1.0' },
      { url: base, protocolBinding: 'JSONRPC', protocolVersion: '0.3' },
    ]);
    const scheme = card.securitySchemes.mandate.oauth2SecurityScheme;
    expect(scheme.oauth2MetadataUrl).toBe(`${server.url}/.well-known/oauth-authorization-server`);
    expect(scheme.flows.clientCredentials.tokenUrl).toBe(`${server.url}/oauth/token`);
    expect(scheme.description).toContain('DPoP');
    expect(Object.keys(card.securitySchemes)).toEqual(['mandate']);
    expect(JSON.stringify(card)).not.toContain(peer.url);
    const metadata = await readJson(await fetch(`${server.url}/.well-known/oauth-protected-resource/a2a/billing`));
    expect(metadata).toMatchObject({ resource: base, authorization_servers: [server.url], dpop_bound_access_tokens_required: true, scopes_supported: ['a2a:billing/*'] });
    expect((await fetch(`${server.url}/a2a/nobody/.well-known/agent-card.json`)).status).toBe(404);
    expect(forwarded()).toBe(0);
  });

  it('forwards message/send with a derived mandate: person → caller → callee, never more than the caller’s', async () => {
    const answer = await client.sendMessage(userMessage('invoice total?', { customer_id: '42' }));
    expect(JSON.stringify(answer)).toContain('echo: invoice total? {\\"customer_id\\":\\"42\\"}');
    expect(forwarded()).toBe(1);
    const { headers } = peer.received[0]!;
    expect(headers.authorization).toBeUndefined();
    expect(headers.dpop).toBeUndefined();
    const derived = decode(String(headers['x-mandate']));
    const parent = decode(mandate.token);
    const calleeInstance = decode(await callee.identityToken());
    expect(derived.sub).toBe('alice@example.com');
    expect(derived.act.agent_id).toBe('billing-agent');
    expect(derived.act.sub).toBe(calleeInstance.sub);
    expect(derived.act.act).toEqual(parent.act);
    expect(derived.parent_jti).toBe(parent.jti);
    expect(derived.depth).toBe(parent.depth + 1);
    expect(derived.cnf.jkt).toBe(calleeInstance.cnf.jkt);
    // Narrowed by the callee's card: only the ledger's invoices; the caller's A2A rights do not pass on.
    expect(derived.scope).toBe('http:ledger:GET:/invoices/**');
    expect(derived.aud).toEqual(parent.aud);
    expect(derived.exp).toBeLessThanOrEqual(parent.exp);
    expect(derived.budget).toBeLessThanOrEqual(Math.min(parent.budget, billing.default_budget));

    // Both chains record the hop: the decision and result on the caller's, the reception on the callee's.
    const decision = events('a2a.decision').at(-1)!;
    expect(decision).toMatchObject({ chain: `instance:${parent.act.instance_id}`, action: 'a2a:message/send', decision: 'allow', resource: 'billing message/send' });
    expect(decision.args_digest).toMatch(/^hmac-sha256:/);
    expect(JSON.stringify(decision)).not.toContain('"42"');
    expect(events('a2a.result').at(-1)).toMatchObject({ status: 'success', action: 'a2a:message/send' });
    const received = events('a2a.received').at(-1)!;
    expect(received).toMatchObject({ chain: `instance:${derived.act.instance_id}`, actor: { agent: 'billing-agent', person: 'alice@example.com' }, action: 'a2a:message/send' });
    expect(received.actor.delegation).toEqual(['alice@example.com', parent.act.sub, derived.act.sub]);
    expect(received.data?.resources).toContain(derived.jti);

    // The callee acts next with it, with its own key: at most what the caller could, narrowed by its card.
    const asCallee = callee.fetchWith({ token: String(headers['x-mandate']), scope: derived.scope, expiresAt: new Date(derived.exp * 1000) });
    expect((await asCallee(`${server.url}/broker/ledger/invoices/42`)).status).toBe(200);
    expect(peer.received.at(-1)!.method).toBe('GET /invoices/42');
    const wider = await asCallee(`${server.url}/broker/ledger/customers/7`);
    expect(wider.status).toBe(403);
    expect((await readJson(wider)).error).toBe('ERR_SCOPE_NOT_GRANTED');
    expect(peer.received.at(-1)!.method).toBe('GET /invoices/42');
    // …and only the callee: the caller holding it cannot use it (bound to the callee's key).
    const stolen = await caller.fetchWith({ token: String(headers['x-mandate']), scope: derived.scope, expiresAt: new Date(derived.exp * 1000) })(`${server.url}/broker/ledger/invoices/42`);
    expect(stolen.status).toBe(401);
  });

  it('decides a v0.3 caller’s message/send the same way', async () => {
    const before = forwarded();
    const response = await caller.fetchWith(mandate)(base, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'a2a-version': '0.3' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 'v03', method: 'message/send', params: { message: { kind: 'message', messageId: 'm-03', role: 'user', parts: [{ kind: 'text', text: 'legacy hello' }], metadata: { customer_id: '7' } } } }),
    });
    const body = await readJson(response);
    expect(body).toMatchObject({ jsonrpc: '2.0', id: 'v03', result: { kind: 'message', role: 'agent' } });
    expect(JSON.stringify(body)).toContain('echo: legacy hello');
    expect(forwarded()).toBe(before + 1);
    expect(peer.received.at(-1)).toMatchObject({ method: 'message/send', headers: { 'a2a-version': '0.3' } });
    expect(events('a2a.decision').at(-1)).toMatchObject({ action: 'a2a:message/send', decision: 'allow' });
  });

  it('refuses without a mandate, with a DPoP challenge, and forwards nothing', async () => {
    const before = forwarded();
    const response = await fetch(base, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: userMessage('hi') }) });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain(`resource_metadata="${server.url}/.well-known/oauth-protected-resource/a2a/billing"`);
    expect((await readJson(response)).jsonrpc).toBe('2.0');
    expect(forwarded()).toBe(before);
  });

  it('refuses a reach for another customer in the message metadata under a record-limited mandate, forwarding nothing', async () => {
    const limited = await caller.obtainMandate({
      subjectToken: await personToken(server, 'alice@example.com'),
      scope: SCOPE,
      resource: [`${server.url}/a2a/billing`],
      records: { fields: { customer_id: ['42'] }, required: ['customer_id'] },
    });
    const send = (metadata: Record<string, unknown>, outer?: Record<string, unknown>) =>
      rpc({ jsonrpc: '2.0', id: 9, method: 'SendMessage', params: { ...(outer ? { metadata: outer } : {}), message: { ...userMessage('invoice total?', metadata), messageId: crypto.randomUUID() } } }, limited);
    const before = forwarded();
    for (const [metadata, outer] of [[{ customer_id: '43' }], [{ customer_id: '42' }, { customer_id: '43' }], [{ note: 'no customer named' }]] as Array<[Record<string, unknown>, Record<string, unknown>?]>) {
      const { status, body } = await send(metadata, outer);
      expect(status).toBe(403);
      expect(body).toMatchObject({ jsonrpc: '2.0', id: 9, error: { data: { code: 'ERR_RECORD_CONSTRAINT' } } });
      expect(events('a2a.decision').at(-1)).toMatchObject({ decision: 'deny', denial_reason: 'ERR_RECORD_CONSTRAINT', action: 'a2a:message/send' });
    }
    expect(forwarded()).toBe(before);
    const allowed = await send({ customer_id: '42' });
    expect(allowed.status).toBe(200);
    expect(forwarded()).toBe(before + 1);
  });

  it('refuses a method the mandate does not cover, as an A2A JSON-RPC error with the reason, forwarding nothing', async () => {
    const before = forwarded();
    await expect(client.cancelTask({ tenant: '', id: 'task-1', metadata: undefined })).rejects.toThrow(/does not cover a2a:billing\/tasks\/cancel/);
    const { status, body } = await rpc({ jsonrpc: '2.0', id: 7, method: 'CancelTask', params: { id: 'task-1' } });
    expect(status).toBe(403);
    expect(body).toMatchObject({ jsonrpc: '2.0', id: 7, error: { code: -32000, data: { code: 'ERR_SCOPE_NOT_GRANTED' } } });
    expect(events('a2a.decision').at(-1)).toMatchObject({ decision: 'deny', denial_reason: 'ERR_SCOPE_NOT_GRANTED', action: 'a2a:tasks/cancel' });
    expect(forwarded()).toBe(before);
  });

  it('refuses what policy refuses with the policy’s reason, and methods Mandate does not forward', async () => {
    const before = forwarded();
    const wide = await mandateFor(`${SCOPE} a2a:billing/tasks/cancel`);
    // tasks/cancel is high-impact on this peer: the starter policy holds it for a person's approval.
    const held = await rpc({ jsonrpc: '2.0', id: 'c1', method: 'CancelTask', params: { id: 'task-1' } }, wide);
    expect(held.status).toBe(403);
    expect(held.body.error.message).toMatch(/^this is a high-impact action: a person must approve this call\. The call is held as approval apr_/);
    expect(held.body.error.data).toMatchObject({ code: 'ERR_APPROVAL_REQUIRED', approval: { status: 'pending' } });
    const listed = await rpc({ jsonrpc: '2.0', id: 2, method: 'ListTasks', params: {} });
    expect(listed.body).toMatchObject({ id: 2, error: { code: -32601, data: { code: 'ERR_A2A_METHOD_UNSUPPORTED' } } });
    const batch = await rpc([{ jsonrpc: '2.0', id: 3, method: 'GetTask', params: { id: 'x' } }]);
    expect(batch.body).toMatchObject({ error: { code: -32600, data: { code: 'ERR_JSONRPC_INVALID_REQUEST' } } });
    const webhook = await rpc({ jsonrpc: '2.0', id: 5, method: 'SendMessage', params: { ...userMessage('hi'), configuration: { taskPushNotificationConfig: { url: 'http://169.254.169.254/hook' } } } });
    expect(webhook.body).toMatchObject({ id: 5, error: { data: { code: 'ERR_SCOPE_NOT_GRANTED' } } });
    expect(webhook.body.error.message).toContain('needs a2a:billing/tasks/pushNotificationConfig/set');
    const noParams = await rpc({ jsonrpc: '2.0', id: 4, method: 'GetTask' });
    expect(noParams.body).toMatchObject({ id: 4, error: { code: -32602, data: { code: 'ERR_A2A_PARAMS' } } });
    expect(forwarded()).toBe(before);
    // Once a person approves the held call, the identical call goes through, once.
    expect((await server.api('POST', `/v1/approvals/${held.body.error.data.approval.id}/approve`, {})).status).toBe(200);
    const approved = await rpc({ jsonrpc: '2.0', id: 'c1', method: 'CancelTask', params: { id: 'task-1' } }, wide);
    expect(forwarded()).toBe(before + 1);
    expect(peer.received.at(-1)!.method).toBe('CancelTask');
    expect(approved.body.id).toBe('c1');
  });

  it('streams message/stream over SSE through Mandate', async () => {
    const seen: string[] = [];
    for await (const event of client.sendMessageStream(userMessage('stream 3'))) {
      const payload = event.payload;
      if (payload?.$case === 'statusUpdate') seen.push(String(payload.value.status?.state));
      if (payload?.$case === 'task') seen.push('task');
    }
    expect(seen).toEqual(['task', ...Array(3).fill(String(TaskState.TASK_STATE_WORKING)), String(TaskState.TASK_STATE_COMPLETED)]);
    expect(events('a2a.result').at(-1)).toMatchObject({ action: 'a2a:message/stream', status: 'success' });
  });

  it('lets a caller leave a stream and resubscribe to the task it left running (tasks/resubscribe, tasks/get)', async () => {
    const wide = await a2aClient(base, caller.fetchWith(await mandateFor('a2a:billing/* http:ledger:GET:/**')));
    let taskId = '';
    for await (const event of wide.sendMessageStream(userMessage('stream 8'))) {
      if (event.payload?.$case === 'task') taskId = event.payload.value.id;
      if (taskId) break;
    }
    expect(taskId).not.toBe('');
    const states: number[] = [];
    for await (const event of wide.resubscribeTask({ tenant: '', id: taskId })) {
      if (event.payload?.$case === 'statusUpdate') states.push(event.payload.value.status!.state);
    }
    expect(states.at(-1)).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(events('a2a.decision').some((e) => e.action === 'a2a:tasks/resubscribe' && e.decision === 'allow')).toBe(true);
    const task = await wide.getTask({ tenant: '', id: taskId, historyLength: undefined });
    expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(peer.received.some((r) => r.method === 'CancelTask' && r.headers['x-mandate'] === undefined)).toBe(false);
  });

  it('forwards nothing while the callee’s agent is suspended, and hands it a fresh mandate once resumed', async () => {
    const handedBefore = String(peer.received.findLast((r) => r.headers['x-mandate'])!.headers['x-mandate']);
    expect((await server.api('POST', '/v1/agents/billing-agent/suspend', { reason: 'incident review' })).status).toBe(200);
    const before = forwarded();
    const refused = await rpc({ jsonrpc: '2.0', id: 's1', method: 'SendMessage', params: userMessage('while suspended') });
    expect(refused.status).toBe(502);
    expect(refused.body).toMatchObject({ id: 's1', error: { data: { code: 'ERR_PEER_IDENTITY' } } });
    expect(refused.body.error.message).toContain('billing-agent is not active');
    expect(forwarded()).toBe(before);
    expect(events('a2a.result').at(-1)).toMatchObject({ status: 'failure', denial_reason: 'ERR_PEER_IDENTITY' });
    expect((await server.api('POST', '/v1/agents/billing-agent/resume', {})).status).toBe(200);
    const resumed = await rpc({ jsonrpc: '2.0', id: 's2', method: 'SendMessage', params: userMessage('after resume') });
    expect(resumed.status).toBe(200);
    expect(forwarded()).toBe(before + 1);
    // The derived mandate the suspension ended is not handed again.
    expect(peer.received.at(-1)!.headers['x-mandate']).not.toBe(handedBefore);
  });

  it('cuts a streaming task when the caller’s mandate is revoked, and the callee’s derived mandate ends with it', async () => {
    const own = await mandateFor();
    const streaming = await a2aClient(base, caller.fetchWith(own));
    const seen: string[] = [];
    let failure: Error | undefined;
    let derivedToken = '';
    try {
      for await (const event of streaming.sendMessageStream(userMessage('stream 200'))) {
        seen.push(event.payload?.$case ?? '');
        if (seen.length === 3) {
          derivedToken = String(peer.received.at(-1)!.headers['x-mandate']);
          const revoked = await server.api('POST', '/oauth/revoke', new URLSearchParams({ token: own.token }).toString(), { 'content-type': 'application/x-www-form-urlencoded' });
          expect(revoked.status).toBe(200);
        }
      }
    } catch (error) {
      failure = error as Error;
    }
    expect(failure?.message).toMatch(/revoked/);
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen.length).toBeLessThan(60);
    // The peer is asked to cancel the task, and stops working on it.
    for (let i = 0; i < 40 && !peer.received.some((r) => r.method === 'CancelTask' && r.headers['x-mandate'] === undefined); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(peer.received.at(-1)).toMatchObject({ method: 'CancelTask' });
    const ticks = peer.ticks();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(peer.ticks() - ticks).toBeLessThanOrEqual(1);
    const introspected = await readJson(await server.api('POST', '/oauth/introspect', new URLSearchParams({ token: derivedToken }).toString(), { 'content-type': 'application/x-www-form-urlencoded' }));
    expect(introspected.active).toBe(false);
    const calleeAfter = await callee.fetchWith({ token: derivedToken, scope: '', expiresAt: new Date() })(`${server.url}/broker/ledger/invoices/42`);
    expect(calleeAfter.status).toBe(401);
    expect(events('a2a.result').at(-1)).toMatchObject({ action: 'a2a:message/stream', status: 'failure', denial_reason: 'ERR_TOKEN_REVOKED' });
    // The revoked mandate reaches nothing more.
    const before = forwarded();
    const after = await rpc({ jsonrpc: '2.0', id: 9, method: 'GetTask', params: { id: 'x' } }, own);
    expect(after.status).toBe(401);
    expect(forwarded()).toBe(before);
  });

  it('is registered from the CLI too: mandate peer add / list / show / remove', async () => {
    const dir = tempDir('mandate-a2a-cli-');
    const cardFile = path.join(dir, 'card.json');
    fs.writeFileSync(cardFile, JSON.stringify(peer.card));
    const out: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out.push(String(chunk));
      return true;
    });
    const cli = (...args: string[]) => main(['node', 'mandate', '--addr', server.url, '--token', server.token, 'peer', ...args]);
    try {
      expect(await cli('add', 'ledger-peer', '--url', peer.rpc, '--card', cardFile, '--agent', 'billing-agent', '--high-impact', 'tasks/cancel', '--cost', 'message/send=5')).toBe(0);
      expect(await cli('list')).toBe(0);
      expect(await cli('show', 'ledger-peer')).toBe(0);
      expect(await cli('remove', 'ledger-peer')).toBe(0);
    } finally {
      write.mockRestore();
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const text = out.join('');
    expect(text).toContain(`added A2A peer ledger-peer: agents reach it at ${server.url}/a2a/ledger-peer`);
    expect(text).toMatch(/ledger-peer\s+billing-agent\s+Billing agent/);
    expect(text).toMatch(/tasks\/cancel/);
    expect(text).toContain('removed A2A peer ledger-peer');
    expect((await server.api('GET', '/v1/peers/ledger-peer')).status).toBe(404);
  });
});
