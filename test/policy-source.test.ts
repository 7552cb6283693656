import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/schema.ts';
import { type RunningServer, startServer } from '../src/server/serve.ts';
import { dropSchema, PG_URL, postgresAvailable, readJson, tempDir, uniqueSchema } from './harness.ts';

/** Where the running policy set comes from, across restarts and replicas. */
const FREEZE = { file: 'freeze.cedar', text: '@id("change-freeze")\nforbid (principal, action == Mandate::Action::"http:request", resource);\n' };

const MASTER_KEY = crypto.randomBytes(32).toString('base64');
const start = (dataDir: string, databaseUrl?: string, pgSchema?: string) =>
  startServer(loadConfig({ dataDir, port: 0, logLevel: 'silent', masterKey: MASTER_KEY, ...(databaseUrl ? { databaseUrl } : {}) }, {}), {
    logger: pino({ level: 'silent' }),
    ...(pgSchema ? { pgSchema } : {}),
  });

const api = (server: RunningServer, token: string, method: string, route: string, body?: unknown) =>
  fetch(`${server.url}${route}`, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });

describe('the running policy set on one SQLite server', () => {
  const dataDir = tempDir();
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('keeps an applied set across a restart, and applies files edited while the server was stopped', async () => {
    const first = await start(dataDir);
    const token = first.adminToken!;
    const running = (await readJson(await api(first, token, 'GET', '/v1/policies?files=true'))) as { version: string; files: Array<{ file: string; text: string }> };
    const applied = await readJson(await api(first, token, 'PUT', '/v1/policies', { files: [...running.files, FREEZE] }));
    expect(applied.changed).toBe(true);
    await first.close();

    const second = await start(dataDir);
    expect(await readJson(await api(second, token, 'GET', '/v1/policies'))).toMatchObject({ version: applied.version, applied_by: expect.stringContaining('admin') });
    await second.close();

    fs.rmSync(path.join(dataDir, 'policies', FREEZE.file));
    const third = await start(dataDir);
    expect(await readJson(await api(third, token, 'GET', '/v1/policies'))).toMatchObject({ version: running.version, applied_by: expect.stringContaining('policy files in') });
    await third.close();
  });
});

describe.runIf(await postgresAvailable())('the running policy set on replicas over PostgreSQL', () => {
  const schema = uniqueSchema();
  const dirs = [tempDir(), tempDir()];
  afterAll(async () => {
    await dropSchema(schema);
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('is the database’s: a replica started with other policy files neither rolls it back nor watches them', async () => {
    const a = await start(dirs[0]!, PG_URL, schema);
    const token = a.adminToken!;
    const running = (await readJson(await api(a, token, 'GET', '/v1/policies?files=true'))) as { version: string; files: Array<{ file: string; text: string }> };
    const applied = await readJson(await api(a, token, 'PUT', '/v1/policies', { files: [...running.files, FREEZE] }));
    // A second replica whose data dir holds other (stale) files.
    fs.mkdirSync(path.join(dirs[1]!, 'policies'), { recursive: true });
    fs.writeFileSync(path.join(dirs[1]!, 'policies', 'only.cedar'), '@id("everything")\npermit (principal, action, resource);\n');
    const b = await start(dirs[1]!, PG_URL, schema);
    try {
      expect(await readJson(await api(b, token, 'GET', '/v1/policies'))).toMatchObject({ version: applied.version });
      fs.writeFileSync(path.join(dirs[1]!, 'policies', 'only.cedar'), '@id("everything-else")\npermit (principal, action, resource);\n');
      await new Promise((resolve) => setTimeout(resolve, 500));
      for (const replica of [a, b]) expect(await readJson(await api(replica, token, 'GET', '/v1/policies'))).toMatchObject({ version: applied.version });
    } finally {
      await b.close();
      await a.close();
    }
  });
});

describe.runIf(await postgresAvailable())('the running policy set of one process over PostgreSQL (MANDATE_DEPLOYMENT=single)', () => {
  const schema = uniqueSchema();
  const dataDir = tempDir();
  afterAll(async () => {
    await dropSchema(schema);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('comes from the policy directory, as on SQLite: the deployment decides, not the database', async () => {
    const first = await startServer(loadConfig({ dataDir, port: 0, logLevel: 'silent', masterKey: MASTER_KEY, databaseUrl: PG_URL, deployment: 'single' }, {}), {
      logger: pino({ level: 'silent' }),
      pgSchema: schema,
    });
    const token = first.adminToken!;
    const running = (await readJson(await api(first, token, 'GET', '/v1/policies'))) as { version: string; dir?: string };
    expect(running.dir).toBe(path.join(dataDir, 'policies'));
    await first.close();

    fs.writeFileSync(path.join(dataDir, 'policies', FREEZE.file), FREEZE.text);
    const second = await startServer(loadConfig({ dataDir, port: 0, logLevel: 'silent', masterKey: MASTER_KEY, databaseUrl: PG_URL }, { MANDATE_DEPLOYMENT: 'single' }), {
      logger: pino({ level: 'silent' }),
      pgSchema: schema,
    });
    try {
      const now = await readJson(await api(second, token, 'GET', '/v1/policies'));
      expect(now.version).not.toBe(running.version);
      expect(now).toMatchObject({ applied_by: expect.stringContaining('policy files in') });
    } finally {
      await second.close();
    }
  });
});
