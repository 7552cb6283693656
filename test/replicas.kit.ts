import { type ChildProcess, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { AgentRuntime, Mandate } from '../src/sdk/runtime.ts';
import { tempDir } from './harness.ts';

/**
 * `mandate serve` replicas as separate processes over one PostgreSQL schema, behind one public URL
 * (MANDATE_PUBLIC_URL) the way a load balancer would present them. Tests address each replica on
 * its own loopback port and sign DPoP proofs for the public URL.
 */
export const BIN = path.resolve(import.meta.dirname, '../bin/mandate.js');
export const PUBLIC = 'http://mandate.internal:7470';
const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT = 'urn:ietf:params:oauth:token-type:jwt';

/** Governance that measures what a test asks for: no rate limits, no burst rule. */
export const QUIET_GOVERNANCE = 'rateLimits:\n  instance: { limit: 0 }\n  agent: { limit: 0 }\n  person: { limit: 0 }\nbehavior:\n  burst: { enabled: false }\n';

export interface Replica {
  name: string;
  child: ChildProcess;
  url: string;
  dataDir: string;
  output(): string;
  /** Resolves with the exit code or signal once the process is gone. */
  exited: Promise<string>;
}

export function clusterEnv(databaseUrl: string, schema: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    MANDATE_DATABASE_URL: `${databaseUrl}${databaseUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`,
    MANDATE_MASTER_KEY: crypto.randomBytes(32).toString('base64'),
    MANDATE_PUBLIC_URL: PUBLIC,
    MANDATE_PORT: '0',
    MANDATE_LOG_LEVEL: 'warn',
    MANDATE_DEV_ISSUER_PROD: 'true',
  };
}

/** `files`: more files for its data directory (`alerts.yaml`…). */
export function startReplica(name: string, env: NodeJS.ProcessEnv, governance = QUIET_GOVERNANCE, files: Record<string, string> = {}): Promise<Replica> {
  const dataDir = tempDir();
  fs.writeFileSync(path.join(dataDir, 'governance.yaml'), governance);
  for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dataDir, file), text);
  const child = spawn(process.execPath, [BIN, 'serve'], { env: { ...env, MANDATE_DATA_DIR: dataDir }, stdio: ['ignore', 'pipe', 'pipe'] });
  let seen = '';
  const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? String(code))));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`replica ${name} did not start: ${seen}`)), 60_000);
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      const match = /Mandate listening on (\S+)/.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolve({ name, child, url: match[1]!, dataDir, output: () => seen, exited });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => reject(new Error(`replica ${name} exited ${code}: ${seen}`)));
  });
}

export const adminTokenOf = (replica: Replica) => /(mdt_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)/.exec(replica.output())![1]!;

export async function stopReplica(replica: Replica | undefined): Promise<void> {
  if (!replica || replica.child.exitCode !== null || replica.child.signalCode !== null) return;
  replica.child.kill('SIGTERM');
  const timer = setTimeout(() => replica.child.kill('SIGKILL'), 10_000);
  await replica.exited;
  clearTimeout(timer);
}

/** The admin API of one replica. */
export const adminApi =
  (token: string) =>
  (replica: { url: string }, method: string, route: string, body?: unknown): Promise<Response> =>
    fetch(`${replica.url}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': typeof body === 'string' ? 'application/x-www-form-urlencoded' : 'application/json' }),
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });

/** A token exchange sent to one replica, the proof bound to the public token endpoint. */
export async function exchangeAt(
  replica: { url: string },
  runtime: AgentRuntime,
  input: { person: string; scope: string; resource: string; budget?: number; proof?: string },
): Promise<Response> {
  const form = new URLSearchParams({ grant_type: EXCHANGE, subject_token: input.person, subject_token_type: JWT, actor_token: await runtime.identityToken(), actor_token_type: JWT, scope: input.scope, resource: input.resource });
  if (input.budget !== undefined) form.set('authorization_details', JSON.stringify([{ type: 'mandate_task', budget: input.budget }]));
  return fetch(`${replica.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: input.proof ?? runtime.proof('POST', `${PUBLIC}/oauth/token`) }, body: form });
}

export async function mandateAt(replica: { url: string }, runtime: AgentRuntime, input: { person: string; scope: string; resource: string; budget?: number }): Promise<Mandate> {
  const res = await exchangeAt(replica, runtime, input);
  const body = (await res.json()) as { access_token?: string; scope: string; expires_in: number };
  if (res.status !== 200 || !body.access_token) throw new Error(`exchange failed: ${res.status} ${JSON.stringify(body)}`);
  return { token: body.access_token, scope: body.scope, expiresAt: new Date(Date.now() + body.expires_in * 1000) };
}

/**
 * A `fetch` for one enforcement point (`route`, e.g. `/mcp/orders`) reached on a replica's own
 * address: the mandate, and a fresh proof per request for the public URL of that point.
 */
export function signedFetch(runtime: AgentRuntime, mandate: Mandate, route: string): typeof fetch {
  return (input, init = {}) => {
    const headers = new Headers(init.headers);
    headers.set('authorization', `DPoP ${mandate.token}`);
    headers.set('dpop', runtime.proof((init.method ?? 'GET').toUpperCase(), `${PUBLIC}${route}`, mandate.token));
    return fetch(input, { ...init, headers });
  };
}

/** A call through one replica's broker, with a fresh proof for the public URL of the same path. */
export function brokerCall(replica: { url: string }, runtime: AgentRuntime, mandate: Mandate, method: string, route: string): Promise<Response> {
  return signedFetch(runtime, mandate, route)(`${replica.url}${route}`, { method });
}

/** A client on the test PostgreSQL and a fresh schema for a cluster's replicas to share. */
export async function openClusterSchema(url: string, schema: string): Promise<pg.Client> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  await db.query(`CREATE SCHEMA ${schema}`);
  return db;
}

/** Drops the cluster's schema and ends the client (either may never have been made). */
export async function dropClusterSchema(db: pg.Client | undefined, schema: string): Promise<void> {
  await db?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await db?.end();
}

/** Polls until `probe` holds, up to `ms`; how long that took (or Infinity). */
export async function within(ms: number, probe: () => Promise<boolean>): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < ms) {
    if (await probe()) return performance.now() - start;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return Number.POSITIVE_INFINITY;
}
