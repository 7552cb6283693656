import crypto from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roleName, scramVerifier } from '../src/broker/postgres/roles.ts';
import type { AgentRuntime, Mandate } from '../src/sdk/runtime.ts';
import { CODE_HASH, bootstrap, decode, personToken, register } from './fixtures.ts';
import { PG_URL, postgresAvailable, readJson, startTestServer, type TestServer } from './harness.ts';

/** Real PostgreSQL: each mandate queries as its own short-lived role, dropped when the mandate ends. */
const available = await postgresAvailable();
const SCHEMA = `bt_${crypto.randomBytes(5).toString('hex')}`;

const dbBot = {
  id: 'db-bot',
  name: 'Database bot',
  owner: 'alice@example.com',
  environment: 'dev',
  roles: ['operator'],
  code_hashes: [CODE_HASH],
  toolset: ['http:shop:*:/**'],
};

describe.skipIf(!available)('dynamic PostgreSQL credentials through the broker', () => {
  let server: TestServer;
  let admin: pg.Client;
  let runtime: AgentRuntime;
  const jtis: string[] = [];

  const newMandate = async (): Promise<Mandate> => {
    const mandate = await runtime.obtainMandate({ subjectToken: await personToken(server, 'alice@example.com'), scope: 'http:shop:POST:/query', resource: `${server.url}/broker/shop` });
    jtis.push(decode(mandate.token).jti);
    return mandate;
  };
  const query = (mandate: Mandate, sql: string, params: unknown[] = []) =>
    runtime.fetchWith(mandate)(`${server.url}/broker/shop/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sql, params }) });
  const roleExists = async (role: string) => (await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role])).rowCount === 1;
  const roleOf = (mandate: Mandate) => roleName('shop', decode(mandate.token).jti);

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${SCHEMA}`);
    await admin.query(`CREATE TABLE ${SCHEMA}.orders (id int PRIMARY KEY, item text NOT NULL)`);
    await admin.query(`CREATE TABLE ${SCHEMA}.customers (id int PRIMARY KEY, card_number text NOT NULL)`);
    await admin.query(`INSERT INTO ${SCHEMA}.orders VALUES (1, 'book'), (2, 'lamp'), (3, 'desk')`);
    await admin.query(`INSERT INTO ${SCHEMA}.customers VALUES (1, '4111111111111111')`);
    // Mandate's own store on PostgreSQL too: the broker's tables and sweep run on both dialects.
    server = await startTestServer('postgres');
    await register(server, dbBot);
    expect((await server.api('PUT', '/v1/secrets/pg_admin', { value: PG_URL })).status).toBe(200);
    const added = await server.api('POST', '/v1/connections', {
      name: 'shop',
      type: 'postgres',
      dsn_secret: 'pg_admin',
      grant_template: `GRANT USAGE ON SCHEMA ${SCHEMA} TO {{role}}; GRANT SELECT ON ${SCHEMA}.orders TO {{role}}`,
      timeout_ms: 1000,
    });
    expect(added.status).toBe(201);
    runtime = await bootstrap(server, 'db-bot', { environment: 'dev' });
  });

  afterAll(async () => {
    if (server) {
      await server.app.broker.databases.revoke(jtis);
      await server.close();
    }
    if (admin) {
      await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
      await admin.end();
    }
  });

  it('creates the role on first use and answers what the template grants', async () => {
    const mandate = await newMandate();
    expect(await roleExists(roleOf(mandate))).toBe(false);
    const res = await query(mandate, `SELECT id, item FROM ${SCHEMA}.orders WHERE id >= $1 ORDER BY id`, [2]);
    expect(res.status).toBe(200);
    expect(await readJson(res)).toEqual({ command: 'SELECT', row_count: 2, fields: ['id', 'item'], rows: [{ id: 2, item: 'lamp' }, { id: 3, item: 'desk' }], truncated: false });
    const role = roleOf(mandate);
    expect(role).toMatch(/^mandate_[0-9a-f]{24}$/);
    const { rows } = await admin.query('SELECT rolcanlogin, rolsuper, rolvaliduntil FROM pg_roles WHERE rolname = $1', [role]);
    expect(rows[0]).toMatchObject({ rolcanlogin: true, rolsuper: false });
    expect(Math.abs(new Date(rows[0].rolvaliduntil).getTime() - mandate.expiresAt.getTime())).toBeLessThan(5000);
    const result = server.audit.events.filter((e) => e.resource === 'shop POST /query').at(-1)!;
    expect(result).toMatchObject({ type: 'http.result', status: 'success' });
    expect(result.data!.resources).toContain(`shop/${SCHEMA}.orders`);
    expect(JSON.stringify(server.audit.events)).not.toContain('lamp');
  });

  it('refuses SQL under record constraints (which rows it reaches cannot be checked), creating no role', async () => {
    const mandate = await runtime.obtainMandate({
      subjectToken: await personToken(server, 'alice@example.com'),
      scope: 'http:shop:POST:/query',
      resource: `${server.url}/broker/shop`,
      records: { fields: { customer_id: ['42'] } },
    });
    jtis.push(decode(mandate.token).jti);
    const res = await query(mandate, `SELECT id FROM ${SCHEMA}.orders WHERE id = $1`, [42]);
    const body = await readJson(res);
    expect([res.status, body.error, body.field]).toEqual([403, 'ERR_RECORD_CONSTRAINT', '(arguments)']);
    expect(await roleExists(roleOf(mandate))).toBe(false);
  });

  it('refuses what the template does not grant with a clear 403, without internals', async () => {
    const mandate = await newMandate();
    for (const sql of [`DELETE FROM ${SCHEMA}.orders`, `SELECT * FROM ${SCHEMA}.customers`, `UPDATE ${SCHEMA}.orders SET item = 'x'`]) {
      const res = await query(mandate, sql);
      const body = await readJson(res);
      expect({ sql, status: res.status, error: body.error }).toEqual({ sql, status: 403, error: 'ERR_DB_PERMISSION_DENIED' });
      expect(body.message).toMatch(/^permission denied for table (orders|customers)/);
      expect(JSON.stringify(body)).not.toMatch(/postgres:\/\/|DETAIL|HINT|4111/);
    }
    expect((await admin.query(`SELECT count(*)::int AS n FROM ${SCHEMA}.orders`)).rows[0].n).toBe(3);
    const denied = server.audit.events.filter((e) => e.type === 'http.result' && e.denial_reason === 'ERR_DB_PERMISSION_DENIED');
    expect(denied.some((e) => e.data!.resources!.includes(`shop/${SCHEMA}.customers`))).toBe(true);
  });

  it('gives the agent no way back to the admin’s rights', async () => {
    const mandate = await newMandate();
    const escalate = await query(mandate, `SELECT set_config('role', 'postgres', false), (SELECT count(*) FROM ${SCHEMA}.customers)`);
    expect(escalate.status).toBe(403);
    const chained = await query(mandate, `SELECT 1; DROP TABLE ${SCHEMA}.orders`);
    expect(chained.status).toBe(400);
    expect((await readJson(chained)).error).toBe('ERR_DB_QUERY_INVALID');
    const session = await readJson(await query(mandate, 'SELECT session_user AS s, current_user AS c'));
    expect(session.rows[0]).toEqual({ s: roleOf(mandate), c: roleOf(mandate) });
    const slow = await query(mandate, 'SELECT pg_sleep(3)');
    expect(slow.status).toBe(504);
    expect((await readJson(slow)).error).toBe('ERR_DB_TIMEOUT');
  });

  it('drops the role when its mandate is revoked, and the mandate no longer reaches the database', async () => {
    const mandate = await newMandate();
    expect((await query(mandate, `SELECT count(*) FROM ${SCHEMA}.orders`)).status).toBe(200);
    const role = roleOf(mandate);
    expect(await roleExists(role)).toBe(true);
    const jti = decode(mandate.token).jti;
    expect((await server.api('POST', '/oauth/revoke', new URLSearchParams({ token: mandate.token }).toString(), { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(200);
    // The revocation drops the role at once, without waiting for the periodic sweep.
    for (let i = 0; i < 50 && (await roleExists(role)); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await roleExists(role)).toBe(false);
    expect(await server.ctx.store.db.selectFrom('broker_db_roles').selectAll().where('jti', '=', jti).execute()).toEqual([]);
    expect((await query(mandate, 'SELECT 1')).status).toBe(401);
  });

  it('drops the roles of expired mandates in the sweep, and at once through revoke()', async () => {
    const expiring = await newMandate();
    const other = await newMandate();
    for (const m of [expiring, other]) expect((await query(m, 'SELECT 1 AS one')).status).toBe(200);
    await server.ctx.store.db.updateTable('broker_db_roles').set({ expires_at: new Date(Date.now() - 1000).toISOString() }).where('jti', '=', decode(expiring.token).jti).execute();
    const swept = await server.api('POST', '/v1/broker/sweep');
    expect((await readJson(swept)).dropped).toContain(roleOf(expiring));
    expect(await roleExists(roleOf(expiring))).toBe(false);
    expect(await roleExists(roleOf(other))).toBe(true);
    expect(await server.app.broker.databases.revoke([decode(other.token).jti])).toEqual([roleOf(other)]);
    expect(await roleExists(roleOf(other))).toBe(false);
  });

  it('stores a SCRAM verifier PostgreSQL itself would compute, so the clear password never reaches the server', async () => {
    const probe = `scram_probe_${crypto.randomBytes(4).toString('hex')}`;
    await admin.query("SET password_encryption = 'scram-sha-256'");
    await admin.query(`CREATE ROLE ${probe} PASSWORD 'pencil'`);
    try {
      const stored: string = (await admin.query('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [probe])).rows[0].rolpassword;
      const salt = Buffer.from(/^SCRAM-SHA-256\$4096:([^$]+)\$/.exec(stored)![1]!, 'base64');
      expect(scramVerifier('pencil', salt)).toBe(stored);
    } finally {
      await admin.query(`DROP ROLE ${probe}`);
    }
  });
});
