import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CODE_HASH, joinToken, personToken, register } from './fixtures.ts';
import { startTestServer, type TestServer, tempDir } from './harness.ts';

/** An MCP client that only launches stdio servers (the SDK's Client over stdio) reaching tools through `mandate mcp-proxy`. */
const BIN = path.resolve(import.meta.dirname, '../bin/mandate.js');
const EVERYTHING = path.resolve(import.meta.dirname, '../node_modules/@modelcontextprotocol/server-everything/dist/index.js');

describe('the stdio bridge', () => {
  let server: TestServer;
  let env: Record<string, string>;
  const dir = tempDir('mandate-proxy-');
  const identity = path.join(dir, 'identity.json');

  beforeAll(async () => {
    server = await startTestServer('sqlite');
    await register(server, {
      id: 'desk-agent',
      name: 'Desk agent',
      owner: 'alice@example.com',
      roles: ['operator'],
      code_hashes: [CODE_HASH],
      toolset: ['tool:everything/*'],
    });
    await server.api('POST', '/v1/servers', { name: 'everything', transport: 'stdio', command: [process.execPath, EVERYTHING] });
    env = {
      ...getDefaultEnvironment(),
      MANDATE_ADDR: server.url,
      MANDATE_IDENTITY_FILE: identity,
      MANDATE_AGENT: 'desk-agent',
      MANDATE_JOIN_TOKEN: await joinToken(server, 'desk-agent'),
      MANDATE_CODE_HASH: CODE_HASH,
      MANDATE_SUBJECT_TOKEN: await personToken(server, 'alice@example.com'),
    };
  });
  afterAll(async () => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const connect = async () => {
    const client = new Client({ name: 'stdio-only-client', version: '1.0.0' });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [BIN, 'mcp-proxy', 'everything'], env, stderr: 'pipe' }));
    return client;
  };

  it('bootstraps an identity, obtains a mandate and relays calls', async () => {
    const client = await connect();
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain('echo');
    const result = await client.callTool({ name: 'echo', arguments: { message: 'via the bridge' } });
    expect(JSON.stringify(result.content)).toContain('via the bridge');
    await client.close();
    expect(fs.statSync(identity).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(fs.readFileSync(identity, 'utf8'));
    expect(server.audit.events.find((e) => e.resource === 'everything/echo')?.actor.instance).toBe(saved.instance_id);
  });

  it('comes back as the same instance from its identity file, without a join token', async () => {
    const { instance_id } = JSON.parse(fs.readFileSync(identity, 'utf8'));
    env.MANDATE_JOIN_TOKEN = 'mjt_spent';
    const client = await connect();
    await client.callTool({ name: 'echo', arguments: { message: 'again' } });
    await client.close();
    const calls = server.audit.events.filter((e) => e.type === 'tool.decision' && e.resource === 'everything/echo');
    expect(calls.map((e) => e.actor.instance)).toEqual([instance_id, instance_id]);
  });
});
