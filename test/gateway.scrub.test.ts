import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ElicitRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/schema.ts';
import { type RunningServer, startServer } from '../src/server/serve.ts';
import { CODE_HASH, bootstrap, personToken, register } from './fixtures.ts';
import { type TestServer, tempDir } from './harness.ts';

/**
 * Issue 14: an upstream MCP server that tries to leak the credential the gateway injects into it
 * through every message it can send. The agent is the SDK's Client over real HTTP; the trail is
 * the server's own SQLite database. The secret must reach neither, in any encoding.
 */
const LEAKY = path.resolve(import.meta.dirname, 'peers/leaky-server.ts');
const SECRET = 'sk-live-leaky-9f3b7c1e5a2d8046';

/** The secret as is and in every base64 alignment (what an agent could decode back). */
function secretForms(secret: string): string[] {
  const forms = [secret];
  for (const offset of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(offset), Buffer.from(secret)]).toString('base64');
    const fragment = encoded.slice([0, 2, 3][offset], Math.floor(((offset + secret.length) * 8) / 6));
    forms.push(fragment, fragment.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return forms;
}
const leaked = (text: string) => secretForms(SECRET).filter((form) => text.includes(form));

describe('the gateway never lets an injected secret out of an upstream, on any MCP message', () => {
  const dataDir = tempDir('mandate-scrub-');
  const logs: string[] = [];
  const received: string[] = [];
  const notifications: unknown[] = [];
  const relayedRequests: unknown[] = [];
  let server: RunningServer;
  let client: Client;

  beforeAll(async () => {
    const config = loadConfig({ dataDir, port: 0, devIssuerProd: true, logLevel: 'debug' }, {});
    server = await startServer(config, { logger: pino({ level: 'debug' }, { write: (line: string) => logs.push(line) }) });
    const token = server.adminToken!;
    const api = (method: string, route: string, body?: unknown) =>
      fetch(`${server.url}${route}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const asTestServer = { ...server, api } as unknown as TestServer;
    await register(asTestServer, { id: 'reader-bot', name: 'Reader bot', owner: 'alice@example.com', roles: ['operator'], code_hashes: [CODE_HASH], toolset: ['tool:leaky/*'] });
    expect((await api('PUT', '/v1/secrets/leaky_token', { value: SECRET })).status).toBe(200);
    const added = await api('POST', '/v1/servers', { name: 'leaky', transport: 'stdio', command: [process.execPath, LEAKY], env: { LEAKY_TOKEN: '{{secret:leaky_token}}' } });
    expect(added.status).toBe(201);
    const runtime = await bootstrap(asTestServer, 'reader-bot', { environment: 'dev' });
    const resource = `${server.url}/mcp/leaky`;
    const mandate = await runtime.obtainMandate({ subjectToken: await personToken(asTestServer, 'alice@example.com'), scope: 'tool:leaky/*', resource });
    const signed = runtime.fetchWith(mandate);
    // Everything the agent receives, as bytes on the wire.
    const recording: typeof fetch = async (input, init) => {
      const response = await signed(input, init);
      if (response.headers.get('content-type')?.includes('text/event-stream')) void response.clone().text().then((t) => received.push(t), () => {});
      else received.push(await response.clone().text());
      return response;
    };
    client = new Client({ name: 'agent', version: '1.0.0' }, { capabilities: { sampling: {}, elicitation: {} } });
    client.fallbackNotificationHandler = async (notification) => {
      notifications.push(notification);
    };
    client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
      relayedRequests.push(request);
      return { role: 'assistant', content: { type: 'text', text: 'no' }, model: 'none' };
    });
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      relayedRequests.push(request);
      return { action: 'decline' };
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(resource), { fetch: recording }));
  });

  afterAll(async () => {
    await client?.close().catch(() => {});
    await server?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('scrubs tool definitions in tools/list', async () => {
    const { tools } = await client.listTools();
    expect(tools.find((t) => t.name === 'leak')?.description).toBe('Uses token [REDACTED]');
  });

  it('scrubs a tool result, its image data as valid base64, and relays no notification or request of the upstream', async () => {
    const result = (await client.callTool({ name: 'leak', arguments: {} })) as CallToolResult;
    const [text, image] = result.content as unknown as [{ text: string }, { data: string }];
    expect(text.text).toMatch(/^token=\[REDACTED\]; sampling refused \(MCP error -32601: Method not found\); elicitation refused \(MCP error -32601: Method not found\)$/);
    expect(Buffer.from(image.data, 'base64').toString('base64')).toBe(image.data);
    expect(Buffer.from(image.data, 'base64').toString('latin1')).toContain('[REDACTED]');
    expect(result.structuredContent).toEqual({ token: '[REDACTED]', '[REDACTED]': 'as a member name' });
    expect(relayedRequests).toEqual([]);
  });

  it('scrubs resources/list, resource templates and resources/read, text and base64 blobs', async () => {
    const { resources } = await client.listResources();
    expect(resources.find((r) => r.name === 'config')?.description).toBe('Config with [REDACTED]');
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates[0]?.description).toBe('Template that knows [REDACTED]');
    const config = await client.readResource({ uri: 'leaky://config' });
    expect(config.contents[0]).toMatchObject({ text: 'api_token=[REDACTED]' });
    const keyfile = await client.readResource({ uri: 'leaky://keyfile' });
    expect(keyfile.contents).toHaveLength(3);
    for (const content of keyfile.contents as Array<{ blob: string }>) {
      const bytes = Buffer.from(content.blob, 'base64');
      expect(bytes.toString('base64')).toBe(content.blob);
      expect(bytes.toString('latin1')).toContain('[REDACTED]');
      expect(leaked(bytes.toString('latin1'))).toEqual([]);
    }
  });

  it('scrubs an upstream JSON-RPC error, its message and its data', async () => {
    const failure = await client.readResource({ uri: 'leaky://broken/1' }).catch((e: unknown) => e as { code: number; message: string; data: unknown });
    expect(failure).toMatchObject({ code: -32602, data: { token: '[REDACTED]', encoded: '[REDACTED]' } });
    expect((failure as { message: string }).message).toContain('cannot read with [REDACTED]');
  });

  it('scrubs prompts/list, prompts/get and completion/complete', async () => {
    const { prompts } = await client.listPrompts();
    expect(prompts[0]?.description).toBe('Greets with [REDACTED]');
    const prompt = await client.getPrompt({ name: 'greet', arguments: { name: 'alice' } });
    expect(prompt.messages[0]?.content).toEqual({ type: 'text', text: 'Hello alice, the key is [REDACTED]' });
    const completion = await client.complete({ ref: { type: 'ref/prompt', name: 'greet' }, argument: { name: 'name', value: '' } });
    expect(completion.completion.values).toEqual(['[REDACTED]', 'alice']);
  });

  it('keeps the secret out of the rug-pull evidence it audits', async () => {
    await client.callTool({ name: 'rug', arguments: {} });
    const rows = async () => server.ctx.store.db.selectFrom('audit_events').selectAll().execute();
    await expect.poll(async () => (await rows()).filter((r) => JSON.stringify(r).includes('anomaly.tool_changed')).length, { timeout: 5000 }).toBe(1);
    const evidence = JSON.stringify((await rows()).find((r) => JSON.stringify(r).includes('anomaly.tool_changed')));
    expect(evidence).toContain('Uses token [REDACTED], version 2');
    expect(leaked(evidence)).toEqual([]);
  });

  it('let nothing the agent received, no row of the trail and no log line hold the secret', async () => {
    expect(received.length).toBeGreaterThan(8);
    expect(received.filter((body) => leaked(body).length > 0)).toEqual([]);
    expect(leaked(JSON.stringify(notifications))).toEqual([]);
    const rows = await server.ctx.store.db.selectFrom('audit_events').selectAll().execute();
    expect(rows.length).toBeGreaterThan(5);
    expect(leaked(JSON.stringify(rows))).toEqual([]);
    expect(leaked(JSON.stringify(await server.ctx.store.db.selectFrom('tool_pins').selectAll().execute()))).toEqual([]);
    expect(logs.filter((line) => leaked(line).length > 0)).toEqual([]);
    // The gateway logs the upstream's stray progress notification: scrubbed before it was read.
    expect(logs.some((line) => line.includes('progress notification for an unknown token') && line.includes('p-[REDACTED]'))).toBe(true);
    // The database files as bytes: the secret exists there only sealed in the secret store.
    await client.close();
    await server.close();
    for (const file of fs.readdirSync(dataDir).filter((f) => f.startsWith('mandate.db'))) {
      expect(leaked(fs.readFileSync(path.join(dataDir, file)).toString('latin1'))).toEqual([]);
    }
  });
});
