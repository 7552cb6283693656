import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import pino from 'pino';
import { MemoryAuditWriter } from '../src/audit/memory-writer.ts';
import { type Config, loadConfig } from '../src/config/schema.ts';
import { startServer } from '../src/server/serve.ts';
import type { Dialect } from '../src/store/store.ts';
import { dropSchema, PG_URL, readJson, tempDir, type TestServer, uniqueSchema } from './harness.ts';

/**
 * What the governance stories share: a server whose trail is the store's (least-privilege
 * suggestions, stale agents and refused clients are read from it), a clock the test moves, a
 * webhook receiver, operators with their own tokens, and the real CLI.
 */
export interface StoredServer extends TestServer {
  clock: { advance(ms: number): void; now(): Date };
}

export async function startStored(dialect: Dialect, config: Partial<Config> = {}): Promise<StoredServer> {
  const dataDir = tempDir();
  const schema = dialect === 'postgres' ? uniqueSchema() : undefined;
  let offset = 0;
  const now = () => new Date(Date.now() + offset);
  const loaded = loadConfig({ dataDir, port: 0, devIssuerProd: true, logLevel: 'silent', authFailureLimit: 0, ...(dialect === 'postgres' ? { databaseUrl: PG_URL } : {}), ...config }, {});
  const server = await startServer(loaded, { logger: pino({ level: 'silent' }), now, ...(schema ? { pgSchema: schema } : {}) });
  const token = server.adminToken!;
  return {
    ...server,
    token,
    // The trail is the store's; this writer stays empty.
    audit: new MemoryAuditWriter(),
    dataDir,
    clock: { advance: (ms) => void (offset += ms), now },
    api: (method, route, body, headers = {}) =>
      fetch(`${server.url}${route}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    close: async () => {
      await server.close();
      if (schema) await dropSchema(schema);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Trail events of these types, read through the API (newest last). */
export async function trailOf(server: TestServer, type: string): Promise<Array<Record<string, any>>> {
  const res = await server.api('GET', `/v1/audit/events?type=${encodeURIComponent(type)}&limit=500`);
  const body = await readJson(res);
  if (res.status !== 200) throw new Error(`audit query failed: ${JSON.stringify(body)}`);
  return body.events.map((e: { event: Record<string, any> }) => e.event).sort((a: { time: string }, b: { time: string }) => (a.time < b.time ? -1 : 1));
}

/** An operator with these roles and an API token of their own. */
export async function operatorToken(server: TestServer, subject: string, email: string, roles: string[]): Promise<Record<string, string>> {
  const added = await server.api('POST', '/v1/operators', { subject, email, name: subject, roles });
  if (added.status !== 201) throw new Error(await added.text());
  const created = await readJson(await server.api('POST', '/v1/tokens', { for: subject, ttl: '1h' }));
  return { authorization: `Bearer ${created.token}` };
}

/** A webhook receiver on loopback that records every body. */
export async function startReceiver() {
  const bodies: Array<Record<string, any>> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      bodies.push(JSON.parse(body));
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, bodies, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

export async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, ms = 8000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const BIN = path.resolve(import.meta.dirname, '../bin/mandate.js');

/** The real CLI against a server, in a child process. */
export function cli(server: Pick<TestServer, 'url' | 'token' | 'dataDir'>, cwd?: string) {
  const env = { PATH: process.env.PATH, HOME: server.dataDir, MANDATE_ADDR: server.url, MANDATE_TOKEN: server.token, MANDATE_CONFIG: path.join(server.dataDir, 'none.json') };
  return (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [BIN, ...args], { env, cwd: cwd ?? server.dataDir, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    });
}
