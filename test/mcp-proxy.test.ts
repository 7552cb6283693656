import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CODE_HASH, joinToken, personToken, register } from './fixtures.ts';
import { readJson, startTestServer, type TestServer, tempDir } from './harness.ts';

/** An MCP client that only launches stdio servers (the SDK's Client over stdio) reaching tools through `mandate mcp-proxy`. */
const BIN = path.resolve(import.meta.dirname, '../bin/mandate.js');
const EVERYTHING = path.resolve(import.meta.dirname, '../node_modules/@modelcontextprotocol/server-everything/dist/index.js');

/** The part of the admin API the scenes below use, on an in-process or a child-process server. */
interface Api {
  url: string;
  api(method: string, route: string, body?: unknown): Promise<Response>;
}

let agents = 0;
/** A fresh agent allowed on the `everything` server, and the environment a client gives its bridge. */
async function agentScene(server: Api, dir: string, extra: Record<string, string> = {}) {
  const id = `desk-agent-${++agents}`;
  await register(server as TestServer, { id, name: 'Desk agent', owner: 'alice@example.com', roles: ['operator'], code_hashes: [CODE_HASH], toolset: ['tool:everything/*'] });
  const env: Record<string, string> = {
    ...getDefaultEnvironment(),
    MANDATE_ADDR: server.url,
    MANDATE_IDENTITY_FILE: path.join(dir, `${id}.json`),
    MANDATE_AGENT: id,
    MANDATE_JOIN_TOKEN: await joinToken(server as TestServer, id),
    MANDATE_CODE_HASH: CODE_HASH,
    MANDATE_SUBJECT_TOKEN: await personToken(server as TestServer, 'alice@example.com'),
    ...extra,
  };
  return { id, env };
}

const clients: Client[] = [];
async function connect(env: Record<string, string>, cwd?: string) {
  const client = new Client({ name: 'stdio-only-client', version: '1.0.0' });
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [BIN, 'mcp-proxy', 'everything'], env, stderr: 'pipe', ...(cwd ? { cwd } : {}) }));
  clients.push(client);
  return client;
}

/** The error a request got, with how long it took to come. */
async function refusal(call: Promise<unknown>): Promise<{ error: McpError; ms: number }> {
  const started = Date.now();
  const error = await call.then(
    () => {
      throw new Error('the request was answered with a result');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(McpError);
  return { error: error as McpError, ms: Date.now() - started };
}

function waitFor(stream: NodeJS.ReadableStream, pattern: RegExp, ms = 20_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}: ${seen}`)), ms);
    stream.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const match = pattern.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    });
  });
}

/** A process has ended (gone, or a zombie nobody reaped yet). */
function ended(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z');
  } catch {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  }
}

async function endsWithin(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (ended(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return ended(pid);
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
});

describe('the stdio bridge', () => {
  let server: TestServer;
  const dir = tempDir('mandate-proxy-');
  const groups: number[] = [];

  beforeAll(async () => {
    server = await startTestServer('sqlite');
    await server.api('POST', '/v1/servers', { name: 'everything', transport: 'stdio', command: [process.execPath, EVERYTHING] });
  });
  afterEach(() => {
    for (const pgid of groups.splice(0)) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
  afterAll(async () => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('bootstraps an identity, obtains a mandate and relays calls, then comes back as the same instance without a join token', async () => {
    const { env } = await agentScene(server, dir);
    const client = await connect(env);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain('echo');
    const result = await client.callTool({ name: 'echo', arguments: { message: 'via the bridge' } });
    expect(JSON.stringify(result.content)).toContain('via the bridge');
    await client.close();
    expect(fs.statSync(env.MANDATE_IDENTITY_FILE!).mode & 0o777).toBe(0o600);
    const { instance_id } = JSON.parse(fs.readFileSync(env.MANDATE_IDENTITY_FILE!, 'utf8'));

    const again = await connect({ ...env, MANDATE_JOIN_TOKEN: 'mjt_spent' });
    await again.callTool({ name: 'echo', arguments: { message: 'again' } });
    const calls = server.audit.events.filter((e) => e.type === 'tool.decision' && e.resource === 'everything/echo' && e.actor.agent === env.MANDATE_AGENT);
    expect(calls.map((e) => e.actor.instance)).toEqual([instance_id, instance_id]);
  });

  it('keeps its identity 0600 in the state directory ($XDG_STATE_HOME, else ~/.local/state), never in the working directory', async () => {
    const work = tempDir('mandate-proxy-cwd-');
    const home = path.join(dir, 'home');
    const host = new URL(server.url).host.replace(':', '_');
    for (const [extra, stateDir] of [
      [{ XDG_STATE_HOME: path.join(dir, 'xdg') }, path.join(dir, 'xdg', 'mandate')],
      [{}, path.join(home, '.local', 'state', 'mandate')],
    ] as const) {
      const { id, env } = await agentScene(server, dir, { HOME: home, ...extra });
      delete env.MANDATE_IDENTITY_FILE;
      const client = await connect(env, work);
      await client.callTool({ name: 'echo', arguments: { message: 'hi' } });
      const file = path.join(stateDir, 'identities', `${id}@${host}.json`);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
      expect(JSON.parse(fs.readFileSync(file, 'utf8')).private_key).toBeTypeOf('string');
    }
    expect(fs.readdirSync(work)).toEqual([]);
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('answers a request at once with an error when its mandate is revoked mid-session', async () => {
    const { env } = await agentScene(server, dir);
    const client = await connect(env);
    await client.callTool({ name: 'echo', arguments: { message: 'before' } });
    const { instance_id } = JSON.parse(fs.readFileSync(env.MANDATE_IDENTITY_FILE!, 'utf8'));
    expect((await server.api('POST', `/v1/instances/${instance_id}/revoke`)).status).toBe(200);
    const { error, ms } = await refusal(client.callTool({ name: 'echo', arguments: { message: 'after' } }));
    expect(ms).toBeLessThan(5000);
    expect(error.code).toBe(-32001);
    expect(error.message).toContain('mandate has been revoked');
    expect(error.data).toEqual({ code: 'ERR_TOKEN_REVOKED' });
    // The bridge is still there and still answers.
    expect((await refusal(client.listTools())).error.code).toBe(-32001);
  });

  it('tells a suspended agent that it is suspended, on the next request, at once', async () => {
    const { id, env } = await agentScene(server, dir);
    const client = await connect(env);
    await client.callTool({ name: 'echo', arguments: { message: 'before' } });
    expect((await server.api('POST', `/v1/agents/${id}/suspend`)).status).toBe(200);
    const { error, ms } = await refusal(client.callTool({ name: 'echo', arguments: { message: 'after' } }));
    expect(ms).toBeLessThan(5000);
    expect(error.message).toContain(`agent ${id} is suspended`);
    expect(error.data).toEqual({ code: 'ERR_AGENT_SUSPENDED' });
  });

  it('answers every request with the suspension when it starts for a suspended agent', async () => {
    const { id, env } = await agentScene(server, dir);
    (await connect(env)).close();
    expect((await server.api('POST', `/v1/agents/${id}/suspend`)).status).toBe(200);
    const error = await connect(env).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message, error?.message).toContain(`agent ${id} is suspended`);
    expect((error as McpError).data).toEqual({ code: 'ERR_MANDATE_REFUSED', cause: 'ERR_AGENT_SUSPENDED' });
  });

  const spawnBridge = (env: Record<string, string>) => {
    const child = spawn(process.execPath, [BIN, 'mcp-proxy', 'everything'], { env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    groups.push(child.pid!);
    return child;
  };

  it('says plainly when Mandate cannot be reached to attest a new instance', async () => {
    const { env } = await agentScene(server, dir);
    const closed = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const bridge = spawnBridge({ ...env, MANDATE_ADDR: `127.0.0.1:${closed}` });
    let said = '';
    bridge.stderr!.on('data', (chunk: Buffer) => (said += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => bridge.once('exit', resolve));
    expect(code).toBe(1);
    expect(said).toContain(`cannot reach Mandate at http://127.0.0.1:${closed} (ECONNREFUSED) to attest a new instance`);
    expect(fs.existsSync(env.MANDATE_IDENTITY_FILE!)).toBe(false);
  });

  it('exits when its stdin closes', async () => {
    const { env } = await agentScene(server, dir);
    const bridge = spawnBridge(env);
    await waitFor(bridge.stderr!, /relaying to/);
    const exited = new Promise<number | null>((resolve) => bridge.once('exit', resolve));
    bridge.stdin!.end();
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running'), 5000))]);
    expect(code).toBe(0);
  });

  /**
   * A client (here a small node program) that starts the bridge with its own stdin, a pipe whose
   * writing end another process (`sleep`) holds: when the client is killed, stdin stays open and
   * only watching the parent can end the bridge.
   */
  const clientThatLaunches = (env: Record<string, string>, launch: string) => {
    const script = path.join(dir, 'client.cjs');
    fs.writeFileSync(
      script,
      `const { spawn } = require('node:child_process');\nspawn(process.env.LAUNCH, { shell: true, stdio: 'inherit' });\nsetInterval(() => {}, 1000);\n`,
    );
    const holder = spawn('sleep', ['60'], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
    groups.push(holder.pid!);
    const client: ChildProcess = spawn(process.execPath, [script], { env: { ...env, LAUNCH: launch }, stdio: [holder.stdout!, 'pipe', 'pipe'], detached: true, cwd: dir });
    groups.push(client.pid!);
    return client;
  };

  for (const [how, launch] of [
    ['directly', `exec "${process.execPath}" "${BIN}" mcp-proxy everything`],
    ['through npx (an intermediate parent)', `exec npx --yes -c '"${process.execPath}" "${BIN}" mcp-proxy everything'`],
  ] as const) {
    it(`exits when the client that launched it ${how} is killed`, async () => {
      const { env } = await agentScene(server, dir);
      const client = clientThatLaunches(env, launch);
      const pid = Number((await waitFor(client.stderr!, /relaying to .* \(pid (\d+)\)/))[1]);
      expect(ended(pid)).toBe(false);
      let said = '';
      client.stderr!.on('data', (chunk: Buffer) => (said += chunk.toString()));
      client.kill('SIGKILL');
      expect(await endsWithin(pid, 8000)).toBe(true);
      expect(said).toMatch(/mcp-proxy: parent process \d+ ended; exiting/);
    });
  }
});

/** `mandate serve` in its own process group (with the upstream MCP servers it spawns), to kill or freeze. */
async function spawnMandate(dataDir: string): Promise<Api & { pgid: number }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0'], {
    env: { PATH: process.env.PATH, HOME: dataDir, MANDATE_DATA_DIR: dataDir, MANDATE_LOG_LEVEL: 'warn', MANDATE_DEV_ISSUER_PROD: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let said = '';
  child.stderr!.on('data', (c: Buffer) => (said += c.toString()));
  const url = (await waitFor(child.stderr!, /Mandate listening on (\S+)/))[1]!;
  const token = /\n {2}(mdt_\S+)\n/.exec(said)![1]!;
  const api: Api = {
    url,
    api: (method, route, body) =>
      fetch(`${url}${route}`, { method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) }),
  };
  const added = await api.api('POST', '/v1/servers', { name: 'everything', transport: 'stdio', command: [process.execPath, EVERYTHING] });
  expect(added.status, JSON.stringify(await readJson(added.clone()))).toBe(201);
  return { ...api, pgid: child.pid! };
}

describe('the stdio bridge when Mandate goes away', () => {
  const dirs: string[] = [];
  const groups: number[] = [];
  const mandateServer = async () => {
    const dataDir = tempDir('mandate-proxy-down-');
    dirs.push(dataDir);
    const server = await spawnMandate(dataDir);
    groups.push(server.pgid);
    return { server, dataDir };
  };
  afterEach(() => {
    for (const pgid of groups.splice(0)) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers the call in flight and the next one with an error when the server is killed', { timeout: 40_000 }, async () => {
    const { server, dataDir } = await mandateServer();
    const { env } = await agentScene(server, dataDir);
    const client = await connect(env);
    await client.callTool({ name: 'echo', arguments: { message: 'up' } });
    const inFlight = refusal(client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 20, steps: 20 } }, undefined, { timeout: 30_000 }));
    await new Promise((r) => setTimeout(r, 1000));
    process.kill(-server.pgid, 'SIGKILL');
    const { error, ms } = await inFlight;
    expect(ms).toBeLessThan(10_000);
    expect(error.code).toBe(-32000);
    expect(error.message).toMatch(/Mandate gateway at .* is unreachable/);
    expect(error.data).toEqual({ code: 'ERR_GATEWAY_UNREACHABLE' });

    const next = await refusal(client.callTool({ name: 'echo', arguments: { message: 'down' } }));
    expect(next.ms).toBeLessThan(3000);
    expect(next.error.message).toContain('ECONNREFUSED');
    expect(next.error.data).toEqual({ code: 'ERR_GATEWAY_UNREACHABLE' });
  });

  it('answers a call with an error within seconds when the server stops answering (frozen, network gone)', { timeout: 40_000 }, async () => {
    const { server, dataDir } = await mandateServer();
    const { env } = await agentScene(server, dataDir);
    const client = await connect(env);
    await client.callTool({ name: 'echo', arguments: { message: 'up' } });
    process.kill(-server.pgid, 'SIGSTOP');
    const { error, ms } = await refusal(client.callTool({ name: 'echo', arguments: { message: 'into the void' } }, undefined, { timeout: 30_000 }));
    // A watchdog round (2 s) and a probe that times out (3 s), with room for a loaded machine.
    expect(ms).toBeLessThan(12_000);
    expect(error.message).toMatch(/is unreachable \(no answer in time\); the outcome of this request is unknown/);
    expect(error.data).toEqual({ code: 'ERR_GATEWAY_UNREACHABLE' });
  });
});
