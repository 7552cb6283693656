import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadConfig } from '../src/config/schema.ts';
import { startServer } from '../src/server/serve.ts';

/**
 * An embedded Mandate for the examples, exactly as `mandate demo` starts one: a throw-away data
 * dir, a free port, a silent logger, and a helper for admin API calls with the admin token.
 */
export interface Embedded {
  url: string;
  adminToken: string;
  admin: (method: string, route: string, body?: unknown) => Promise<Record<string, unknown>>;
  close: () => Promise<void>;
}

export async function startEmbedded(prefix: string): Promise<Embedded> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `mandate-${prefix}-`));
  const config = loadConfig({ dataDir, port: 0, logLevel: 'silent', devIssuerProd: true }, {});
  const server = await startServer(config, { logger: pino({ level: 'silent' }) });
  const adminToken = server.adminToken!;
  const admin = async (method: string, route: string, body?: unknown) => {
    const res = await fetch(`${server.url}${route}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const payload = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok) throw new Error(`${method} ${route}: ${payload.detail ?? res.status}`);
    return payload;
  };
  return {
    url: server.url,
    adminToken,
    admin,
    close: async () => {
      await server.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The claims of a JWT, for display (not verified: Mandate already did). */
export const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

/** Throw when an example's expectation does not hold. */
export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`unexpected: ${message}`);
}
