import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { MemoryAuditWriter } from '../src/audit/memory-writer.ts';
import { type Config, loadConfig } from '../src/config/schema.ts';
import { type RunningServer, startServer } from '../src/server/serve.ts';
import { type OpenStoreOptions, openStore } from '../src/store/open.ts';
import type { Dialect, Store } from '../src/store/store.ts';

/**
 * Test harness over real databases: a SQLite file in a fresh temp dir, and the machine's
 * PostgreSQL in a fresh schema per test. When PostgreSQL is unreachable its runs are skipped
 * locally, but under CI (CI=true) they fail: the PostgreSQL adapter must be proven every time.
 */
export const PG_URL = process.env.MANDATE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let pgReachable: boolean | undefined;
export async function postgresAvailable(): Promise<boolean> {
  if (pgReachable !== undefined) return pgReachable;
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.end();
    pgReachable = true;
  } catch (error) {
    if (process.env.CI === 'true') {
      throw new Error(`PostgreSQL is required in CI and is not reachable at ${PG_URL}`, { cause: error });
    }
    pgReachable = false;
  }
  return pgReachable;
}

/** The dialects to run a contract suite against (top-level await in the test file). */
export async function dialects(): Promise<Dialect[]> {
  return (await postgresAvailable()) ? ['sqlite', 'postgres'] : ['sqlite'];
}

export function tempDir(prefix = 'mandate-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export const uniqueSchema = () => `t_${crypto.randomBytes(6).toString('hex')}`;

export async function dropSchema(schema: string) {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

export interface TestStore {
  store: Store;
  dataDir: string;
  /** Options that open the same database again. */
  openOptions: OpenStoreOptions;
  cleanup(): Promise<void>;
}

export async function openTestStore(dialect: Dialect): Promise<TestStore> {
  const dataDir = tempDir();
  const schema = dialect === 'postgres' ? uniqueSchema() : undefined;
  const openOptions: OpenStoreOptions = {
    dataDir,
    ...(dialect === 'postgres' ? { databaseUrl: PG_URL, pgSchema: schema! } : {}),
  };
  const store = await openStore(openOptions);
  return {
    store,
    dataDir,
    openOptions,
    cleanup: async () => {
      await store.close();
      if (schema) await dropSchema(schema);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface TestServer extends RunningServer {
  token: string;
  audit: MemoryAuditWriter;
  dataDir: string;
  /** fetch against the server with the admin token unless headers say otherwise. */
  api(method: string, route: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
}

export async function startTestServer(
  dialect: Dialect = 'sqlite',
  options: { now?: () => Date; config?: Partial<Config> } = {},
): Promise<TestServer> {
  const dataDir = tempDir();
  const schema = dialect === 'postgres' ? uniqueSchema() : undefined;
  // Attack suites refuse on purpose far more often than the brute-force brake allows from one
  // address: it is off here unless a test sets it (test/brute-force.test.ts does). The stories
  // act for persons with development tokens through prod agents, as the demo does; the refusal
  // without that allowance is tested on its own (test/issuers.test.ts).
  const config = loadConfig(
    { dataDir, port: 0, logLevel: 'silent', authFailureLimit: 0, devIssuerProd: true, ...(dialect === 'postgres' ? { databaseUrl: PG_URL } : {}), ...options.config },
    {},
  );
  const audit = new MemoryAuditWriter();
  const server = await startServer(config, {
    audit,
    logger: pino({ level: 'silent' }),
    ...(schema ? { pgSchema: schema } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  const token = server.adminToken!;
  return {
    ...server,
    token,
    audit,
    dataDir,
    api: (method, route, body, headers = {}) =>
      fetch(`${server.url}${route}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      }),
    close: async () => {
      await server.close();
      if (schema) await dropSchema(schema);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A response body as loosely typed JSON, for assertions. */
// Test assertions index into arbitrary JSON.
export const readJson = async (response: Response): Promise<any> => response.json();
