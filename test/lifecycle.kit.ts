import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { MemoryAuditWriter } from '../src/audit/memory-writer.ts';
import { type Config, loadConfig } from '../src/config/schema.ts';
import { startServer } from '../src/server/serve.ts';
import type { Dialect } from '../src/store/store.ts';
import { dropSchema, PG_URL, type TestServer, tempDir, uniqueSchema } from './harness.ts';

/**
 * Lifecycle governance reads the trail (last activity, usage) and delivers notifications from it,
 * so these servers write their trail to the store, as production does (the shared harness keeps it
 * in memory). `audit` here is an unused stand-in; read the trail with `events()`.
 */
export type StoredServer = TestServer & { events(type?: string): Promise<Array<Record<string, any>>> };

export async function startStored(dialect: Dialect, options: { now?: () => Date; config?: Partial<Config> } = {}): Promise<StoredServer> {
  const dataDir = tempDir();
  const schema = dialect === 'postgres' ? uniqueSchema() : undefined;
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    const config = loadConfig({ dataDir, port: 0, devIssuerProd: true, logLevel: 'silent', authFailureLimit: 0, ...(dialect === 'postgres' ? { databaseUrl: PG_URL } : {}), ...options.config }, {});
    server = await startServer(config, { logger: pino({ level: 'silent' }), ...(schema ? { pgSchema: schema } : {}), ...(options.now ? { now: options.now } : {}) });
  } catch (error) {
    if (schema) await dropSchema(schema);
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const token = server.adminToken!;
  return {
    ...server,
    token,
    audit: new MemoryAuditWriter(),
    dataDir,
    api: (method, route, body, headers = {}) =>
      fetch(`${server.url}${route}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      }),
    events: async (type) => {
      const rows = await server.ctx.store.db.selectFrom('audit_events').select('body').orderBy('leaf_index').execute();
      return rows.map((r) => JSON.parse(r.body) as Record<string, any>).filter((e) => type === undefined || e.type === type);
    },
    close: async () => {
      await server.close();
      if (schema) await dropSchema(schema);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const BIN = path.resolve(import.meta.dirname, '../bin/mandate.js');

/** `node bin/mandate.js …` against a live server. */
export function cli(server: TestServer, args: string[]) {
  const env = { PATH: process.env.PATH, HOME: server.dataDir, MANDATE_ADDR: server.url, MANDATE_TOKEN: server.token };
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
