import crypto from 'node:crypto';
import type pg from 'pg';
import { quietPool } from '../../store/open.ts';
import { connectionsRepository } from '../../store/repositories/connections.ts';
import { databaseRolesRepository } from '../../store/repositories/database-roles.ts';
import { z } from 'zod';
import { scrubSecrets } from '../../audit/redact.ts';
import { decideCall } from '../../enforcement/call.ts';
import { type CallRequest, cardOf } from '../../enforcement/call-request.ts';
import { recordRefusal, recordResult } from '../../enforcement/trail.ts';
import { inSpan, SpanKind, type Traced } from '../../telemetry/trace.ts';
import { isMandateError, MandateError } from '../../errors.ts';
import { seal, unseal } from '../../identity/seal.ts';
import { jsonTooDeep, nestsTooDeep } from '../../json-depth.ts';
import { mandateStanding } from '../../tokens/revocation.ts';
import type { Principal } from '../../tokens/verify-request.ts';
import type { BrokerCall, BrokerDeps, BrokerReply } from '../broker.ts';
import { endpointMetaOf, type PostgresConnectionSpec } from '../connection-spec.ts';
import { BrokerDenial } from '../denial.ts';
import { revealSecret } from '../secrets.ts';
import { databaseError, runQuery } from './query.ts';
import { createRole, dropRole, roleName } from './roles.ts';
import { tablesTouched } from './tables.ts';

const queryBody = z.strictObject({
  sql: z.string().min(1).max(100_000),
  params: z.array(z.union([z.string(), z.number(), z.boolean(), z.null()])).max(1000).default([]),
});

/** Associated data of a role's sealed password: it opens only in its own row. */
export const sealContext = (connection: string, jti: string) => `db-role:${connection}:${jti}`;
const ROLE_WAIT_MS = 5000;

interface Pooled {
  dsn: string;
  pool: pg.Pool;
}

/**
 * Dynamic database credentials: `POST /broker/<connection>/query` runs one statement as a role
 * that exists for one mandate only. The role is created on the mandate's first query (grants from
 * the connection's template, `VALID UNTIL` the mandate's expiry, its password sealed under the
 * master key so every replica can log in as it) and dropped when the mandate ends: `sweep()`
 * drops the roles of expired, revoked or orphaned mandates (run on a timer), `revoke(jtis)` at
 * once when mandates are revoked.
 */
export class DatabaseBroker {
  readonly #deps: BrokerDeps;
  readonly #admin = new Map<string, Pooled>();
  readonly #roles = new Map<string, Pooled>();
  readonly #creating = new Map<string, Promise<{ role: string; password: string }>>();
  #timer: NodeJS.Timeout | undefined;

  constructor(deps: BrokerDeps) {
    this.#deps = deps;
  }

  /** `trace`: the brokered call's span (tracing on): the steps, the statement and the audit commits are its children. */
  async query(spec: PostgresConnectionSpec, call: BrokerCall, body: Buffer, trace?: Traced): Promise<BrokerReply> {
    const { principal } = call;
    const label = `${spec.name} POST /query`;
    let input: z.output<typeof queryBody>;
    const text = body.toString('utf8');
    try {
      if (nestsTooDeep(text)) throw jsonTooDeep();
      input = queryBody.parse(JSON.parse(text || 'null'));
    } catch (error) {
      const refused = isMandateError(error) ? error : new MandateError('ERR_BROKER_QUERY_INVALID', 'the body must be JSON {"sql": "…", "params": [ … ]}');
      await recordRefusal(this.#deps, { principal, action: 'http:request', httpMethod: 'POST', scopeItem: '', label, traceId: call.traceId, trace, resource: { type: 'connection', connection: spec.name } }, refused.code, refused.message);
      throw refused;
    }
    const tables = tablesTouched(input.sql);
    const meta = endpointMetaOf(spec, 'POST', ['query']);
    const request: CallRequest = {
      principal,
      card: await cardOf(this.#deps, principal.agentId),
      action: 'http:request',
      httpMethod: 'POST',
      scopeItem: `http:${spec.name}:POST:/query`,
      resource: { type: 'endpoint', connection: spec.name, name: 'POST /query', highImpact: meta.highImpact, cost: meta.cost, classification: meta.classification },
      label,
      args: { sql: input.sql, params: input.params, tables },
      allowArgs: ['tables'],
      // Which rows a SQL text reaches cannot be read from it: under record constraints it is refused.
      callArgumentsUnreadable: 'a SQL query cannot be checked against record constraints',
      traceId: call.traceId,
      trace,
    };
    const outcome = await decideCall(this.#deps, request);
    if (!outcome.allowed) throw new BrokerDenial(outcome);

    const resources = tables.map((t) => `${spec.name}/${t}`);
    let secrets: string[] = [];
    try {
      const admin = await this.#adminPool(spec);
      const { role, password } = await this.#role(spec, principal);
      secrets = [password, ...adminPassword(admin.dsn)];
      const result = await inSpan(trace, 'upstream query', () => runQuery(this.#rolePool(role, password, admin.dsn), input.sql, input.params, { timeoutMs: spec.timeout_ms, maxRows: spec.max_rows }), { 'mandate.connection': spec.name, 'db.system.name': 'postgresql' }, SpanKind.CLIENT);
      const json = Buffer.from(JSON.stringify(scrubSecrets(result, secrets)));
      if (json.length > spec.body_limit) throw new MandateError('ERR_UPSTREAM_TOO_LARGE', `the result is larger than the connection's limit of ${spec.body_limit} bytes`, { expose: true });
      await recordResult(this.#deps, request, outcome.callId, { ok: true, bytes: json.length, resources });
      return { status: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body: json };
    } catch (error) {
      const failure = isMandateError(error) ? error : databaseError(error, secrets);
      if (!isMandateError(error)) this.#deps.logger.warn({ connection: spec.name, sqlstate: (error as { code?: unknown }).code }, 'database statement failed');
      await recordResult(this.#deps, request, outcome.callId, { ok: false, bytes: 0, error: failure.code, resources });
      throw failure;
    }
  }

  /** The mandate's role on this connection, created on first use (once, even under concurrent calls). */
  #role(spec: PostgresConnectionSpec, principal: Principal): Promise<{ role: string; password: string }> {
    const key = `${spec.name}\n${principal.claims.jti}`;
    let pending = this.#creating.get(key);
    if (!pending) {
      pending = this.#ensureRole(spec, principal).finally(() => this.#creating.delete(key));
      this.#creating.set(key, pending);
    }
    return pending;
  }

  async #ensureRole(spec: PostgresConnectionSpec, principal: Principal): Promise<{ role: string; password: string }> {
    const { store, masterKey, now } = this.#deps;
    const jti = principal.claims.jti;
    const context = sealContext(spec.name, jti);
    const roles = databaseRolesRepository(store.db);
    const find = () => roles.find(spec.name, jti);
    let row = await find();
    if (!row) {
      const role = roleName(spec.name, jti);
      const password = crypto.randomBytes(24).toString('base64url');
      const claimed = await roles.claim({ connection: spec.name, jti, role, password_sealed: seal(masterKey, password, context), status: 'creating', expires_at: new Date(principal.claims.exp * 1000).toISOString(), created_at: now().toISOString() });
      if (claimed) {
        const admin = await (await this.#adminPool(spec)).pool.connect();
        try {
          await createRole(admin, { role, password, validUntil: new Date(principal.claims.exp * 1000), grantTemplate: spec.grant_template });
        } catch (error) {
          await roles.remove(role);
          this.#deps.logger.error({ connection: spec.name, sqlstate: (error as { code?: unknown }).code }, 'creating a mandate database role failed');
          throw new MandateError('ERR_DB_ROLE_FAILED', `the database role for this mandate could not be created on ${spec.name}`, { expose: true });
        } finally {
          admin.release();
        }
        await roles.markReady(role);
        return { role, password };
      }
      row = await find();
    }
    // Another replica is creating it: wait a little for it to be ready.
    for (const started = Date.now(); row?.status === 'creating' && Date.now() - started < ROLE_WAIT_MS; row = await find()) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (row?.status !== 'ready') throw new MandateError('ERR_DB_ROLE_NOT_READY', `the database role for this mandate is not ready on ${spec.name}`, { expose: true });
    return { role: row.role, password: unseal(masterKey, row.password_sealed, context).toString('utf8') };
  }

  async #adminPool(spec: PostgresConnectionSpec): Promise<Pooled> {
    let dsn: string;
    try {
      dsn = await revealSecret(this.#deps.store.db, this.#deps.masterKey, spec.dsn_secret);
      if (!/^postgres(ql)?:\/\//.test(dsn)) throw new Error('not a URL');
    } catch {
      throw new MandateError('ERR_BROKER_CREDENTIAL_MISSING', `connection ${spec.name} has no usable admin DSN (secret ${spec.dsn_secret} must hold a postgres:// URL)`, { expose: true });
    }
    const cached = this.#admin.get(spec.name);
    if (cached?.dsn === dsn) return cached;
    await cached?.pool.end().catch(() => {});
    const pooled = { dsn, pool: quietPool({ connectionString: dsn, max: 2, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 5000 }) };
    this.#admin.set(spec.name, pooled);
    return pooled;
  }

  #rolePool(role: string, password: string, adminDsn: string): pg.Pool {
    const cached = this.#roles.get(role);
    if (cached) return cached.pool;
    const url = new URL(adminDsn);
    url.username = role;
    url.password = password;
    const pool = quietPool({ connectionString: url.href, max: 2, idleTimeoutMillis: 10_000, connectionTimeoutMillis: 5000 });
    this.#roles.set(role, { dsn: url.href, pool });
    return pool;
  }

  async #drop(connection: string, role: string, spec?: PostgresConnectionSpec): Promise<void> {
    const pooled = this.#roles.get(role);
    this.#roles.delete(role);
    await pooled?.pool.end().catch(() => {});
    if (spec) {
      const admin = await (await this.#adminPool(spec)).pool.connect();
      try {
        await dropRole(admin, role);
      } finally {
        admin.release();
      }
    }
    await databaseRolesRepository(this.#deps.store.db).remove(role, connection);
  }

  async #dropWhere(filter: (row: { connection: string; jti: string; expires_at: string }) => Promise<boolean>): Promise<string[]> {
    const db = this.#deps.store.db;
    const rows = await databaseRolesRepository(db).list();
    const dropped: string[] = [];
    for (const row of rows) {
      if (!(await filter(row))) continue;
      const stored = await connectionsRepository(db).find(row.connection);
      const spec = stored ? (JSON.parse(stored.spec) as PostgresConnectionSpec) : undefined;
      try {
        await this.#drop(row.connection, row.role, spec?.type === 'postgres' ? spec : undefined);
        dropped.push(row.role);
      } catch (error) {
        this.#deps.logger.warn({ connection: row.connection, role: row.role, err: (error as Error).message }, 'dropping a mandate database role failed; the next sweep retries');
      }
    }
    return dropped;
  }

  /** Drop the roles of mandates that expired, were revoked, or whose instance or agent ended. Returns the roles dropped. */
  sweep(): Promise<string[]> {
    const now = this.#deps.now().toISOString();
    return this.#dropWhere(async (row) => row.expires_at <= now || (await mandateStanding(this.#deps.store.db, row.jti)) !== 'live');
  }

  /** Drop at once the roles of these mandates (call with every jti a revocation returned). */
  revoke(jtis: readonly string[]): Promise<string[]> {
    const set = new Set(jtis);
    return this.#dropWhere(async (row) => set.has(row.jti));
  }

  /** Before a connection changes or goes: drop its roles (they hold the old grants) and close its pools. */
  async forget(connection: string): Promise<void> {
    await this.#dropWhere(async (row) => row.connection === connection);
    const admin = this.#admin.get(connection);
    this.#admin.delete(connection);
    await admin?.pool.end().catch(() => {});
  }

  /** Close this replica's pools for a connection (its roles are dropped by the replica that changed it). */
  async release(connection: string): Promise<void> {
    const admin = this.#admin.get(connection);
    this.#admin.delete(connection);
    const roles = [...this.#roles.values()];
    this.#roles.clear();
    await Promise.all([admin, ...roles].map((p) => p?.pool.end().catch(() => {})));
  }

  startSweeper(intervalMs: number): void {
    this.#timer ??= setInterval(() => {
      this.sweep().catch((error: Error) => this.#deps.logger.warn({ err: error.message }, 'database role sweep failed'));
    }, intervalMs);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    const pools = [...this.#admin.values(), ...this.#roles.values()];
    this.#admin.clear();
    this.#roles.clear();
    await Promise.all(pools.map((p) => p.pool.end().catch(() => {})));
  }
}

const adminPassword = (dsn: string): string[] => {
  const password = decodeURIComponent(new URL(dsn).password);
  return password ? [password] : [];
};
