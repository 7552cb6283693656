import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryAuditWriter } from '../src/audit/memory-writer.ts';
import type { LifecycleDeps } from '../src/lifecycle/deps.ts';
import { reap } from '../src/lifecycle/reaper.ts';
import { openStore } from '../src/store/open.ts';
import type { Store } from '../src/store/store.ts';
import { bootstrap, CODE_HASH, joinToken, personToken, register } from './fixtures.ts';
import { dialects, openTestStore, readJson, type TestStore } from './harness.ts';
import { cli, startStored, type StoredServer } from './lifecycle.kit.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const card = (id: string) => ({ id, name: id, owner: 'alice@example.com', environment: 'dev', code_hashes: [CODE_HASH], toolset: ['tool:everything/echo'] });

/**
 * Clean-up over the real server, its clock moved forward by the test: idle instances revoked with
 * their mandates, unused agents flagged then suspended, expired join and operator tokens purged,
 * each step in the trail; a dry run changes nothing.
 */
describe.each(await dialects())('the reaper (%s)', { timeout: 60_000 }, (dialect) => {
  let server: StoredServer;
  let clock = Date.now();
  const ids = { idle: '', busy: '', opToken: '' };
  const instance = async (id: string) => readJson(await server.api('GET', `/v1/instances/${id}`));
  const agentStatus = async (id: string) => (await readJson(await server.api('GET', `/v1/agents/${id}`))).status;

  beforeAll(async () => {
    clock = Date.now();
    server = await startStored(dialect, { now: () => new Date(clock), config: { reapInstanceIdle: 3600, reapAgentUnusedDays: 30, reapSuspendUnused: true } });
    await register(server, card('idle-bot'));
    await register(server, card('busy-bot'));
    const idle = await bootstrap(server, 'idle-bot', { environment: 'dev' });
    await idle.obtainMandate({ subjectToken: await personToken(server, 'alice@example.com'), scope: 'tool:everything/echo', resource: `${server.url}/mcp/everything` });
    ids.idle = idle.instanceId;
    ids.busy = (await bootstrap(server, 'busy-bot', { environment: 'dev' })).instanceId;
    await joinToken(server, 'busy-bot', { ttl: '10m' });
    const op = await server.api('POST', '/v1/tokens', { ttl: 60, name: 'short-lived' });
    expect(op.status).toBe(201);
    ids.opToken = (await readJson(op)).id;
    // Two hours on, busy-bot calls a tool. A real DPoP proof cannot follow a moved clock, so the
    // call is written to the trail as the gateway writes it.
    clock += 2 * HOUR;
    await server.ctx.audit.append({
      chain: `instance:${ids.busy}`,
      type: 'tool.decision',
      actor: { instance: ids.busy, agent: 'busy-bot', person: 'alice@example.com', delegation: ['alice@example.com'] },
      action: 'tools/call',
      resource: 'everything/echo',
      decision: 'allow',
      status: 'success',
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('reports in a dry run what it would clean up, and changes nothing', async () => {
    const before = (await server.events()).length;
    const res = await server.api('POST', '/v1/lifecycle/reap', { dry_run: true });
    expect(res.status, await res.clone().text()).toBe(200);
    const report = await readJson(res);
    expect(report).toMatchObject({ dry_run: true, instances_revoked: [{ id: ids.idle, agent: 'idle-bot', mandates_ended: 1 }], agents_flagged: [], orphans_suspended: [] });
    // The two spent by the attestations, and the one never used.
    expect(report.join_tokens_purged).toHaveLength(3);
    expect(report.operator_tokens_purged).toEqual([ids.opToken]);
    expect((await instance(ids.idle)).status).toBe('active');
    // Only the operator's requests themselves are in the trail.
    const printed = await cli(server, ['lifecycle', 'reap', '--dry-run']);
    expect(printed.code, printed.stderr).toBe(0);
    expect(printed.stdout).toMatch(new RegExp(`^revoke instance\\s+${ids.idle}\\s+agent idle-bot, idle since \\S+, 1 mandate\\(s\\)$`, 'm'));
    expect(printed.stdout).toMatch(new RegExp(`^purge API token\\s+${ids.opToken}\\s+expired$`, 'm'));
    expect((await server.events()).slice(before).map((e) => e.type)).toEqual(['admin.lifecycle_reaped', 'admin.lifecycle_reaped']);
  });

  it('revokes the idle instance with its mandates, purges expired tokens, and audits each step', async () => {
    const report = await readJson(await server.api('POST', '/v1/lifecycle/reap', {}));
    expect(report.instances_revoked.map((i: any) => i.id)).toEqual([ids.idle]);
    expect((await instance(ids.idle)).status).toBe('revoked');
    expect((await instance(ids.busy)).status).toBe('active');
    const live = await readJson(await server.api('GET', '/v1/mandates?agent=idle-bot&state=all'));
    expect(live.mandates.map((m: any) => m.state)).toEqual(['revoked']);
    const revoked = (await server.events('lifecycle.revoked')).find((e) => e.actor.instance === ids.idle)!;
    expect(revoked.reasons.message).toMatch(/^idle since .* \(longer than 3600 s\): revoked by the reaper$/);
    expect((await server.events('lifecycle.sealed')).some((e) => e.chain === `instance:${ids.idle}`)).toBe(true);
    const purged = await server.events('lifecycle.purged');
    expect(purged).toHaveLength(1);
    expect(purged[0]!.data.resources).toEqual([...Array.from({ length: 3 }, () => expect.stringMatching(/^join_token:/)), `operator_token:${ids.opToken}`]);
    expect((await server.ctx.store.db.selectFrom('admin_tokens').select('id').where('id', '=', ids.opToken).execute())).toEqual([]);
    // A second run finds nothing more.
    const again = await readJson(await server.api('POST', '/v1/lifecycle/reap', {}));
    expect(again).toMatchObject({ instances_revoked: [], join_tokens_purged: [], operator_tokens_purged: [] });
  });

  it('flags agents unused for the configured days as stale and suspends them, once', async () => {
    clock += 31 * DAY;
    const report = await readJson(await server.api('POST', '/v1/lifecycle/reap', {}));
    expect(report.agents_flagged.map((a: any) => a.id)).toEqual(['busy-bot', 'idle-bot']);
    expect(report.agents_suspended).toEqual(['busy-bot', 'idle-bot']);
    expect(await agentStatus('busy-bot')).toBe('suspended');
    expect((await server.events('lifecycle.flagged')).map((e) => e.actor.agent)).toEqual(['busy-bot', 'idle-bot']);
    expect((await server.events('lifecycle.suspended')).map((e) => e.reasons.message)).toEqual([expect.stringMatching(/^stale: unused since /), expect.stringMatching(/^stale: unused since /)]);
    // busy-bot's instance went idle too: it is revoked in the same run.
    expect(report.instances_revoked.map((i: any) => i.id)).toEqual([ids.busy]);
    const flags = (await readJson(await server.api('GET', '/v1/lifecycle/flags?flag=stale'))).flags;
    expect(flags.map((f: any) => f.agent_id)).toEqual(['busy-bot', 'idle-bot']);
    const again = await readJson(await server.api('POST', '/v1/lifecycle/reap', {}));
    expect(again).toMatchObject({ agents_flagged: [], agents_suspended: [] });
  });

  it('prints a run for a person (mandate lifecycle reap --dry-run, lifecycle flags)', async () => {
    const dry = await cli(server, ['lifecycle', 'reap', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('dry run: nothing was changed');
    const flags = await cli(server, ['lifecycle', 'flags']);
    expect(flags.code, flags.stderr).toBe(0);
    expect(flags.stdout).toMatch(/^AGENT_ID\s+FLAG\s+SINCE\s+DUE_AT\s+REASON$/m);
    expect(flags.stdout).toMatch(/^busy-bot\s+stale\s+/m);
  });
});

/** Two replicas reaping at once over one PostgreSQL database: every change is made, and audited, exactly once. */
describe.runIf((await dialects()).includes('postgres'))('the reaper on two replicas (postgres)', () => {
  let one: TestStore;
  let two: Store;
  const T0 = new Date('2031-01-01T00:00:00Z');
  const now = new Date(T0.getTime() + 40 * DAY);

  beforeAll(async () => {
    one = await openTestStore('postgres');
    two = await openStore(one.openOptions);
    const db = one.store.db;
    const at = T0.toISOString();
    for (let a = 0; a < 4; a++) {
      await db.insertInto('agents').values({ id: `a${a}`, name: `a${a}`, owner: 'alice@example.com', purpose: '', environment: 'dev', model: null, version: null, code_hashes: '[]', config_hashes: '[]', toolset: '[]', roles: '[]', may_delegate_to: '[]', on_behalf_of: 'optional', max_token_lifetime: 600, default_budget: 100, status: 'active', spec_hash: 'h', created_at: at, updated_at: at }).execute();
      for (let i = 0; i < 5; i++) {
        const id = `a${a}-i${i}`;
        await db.insertInto('instances').values({ id, agent_id: `a${a}`, spiffe_id: `spiffe://t/agent/a${a}/i/${id}`, jkt: `jkt-${id}`, public_jwk: '{}', claims: '{}', status: 'active', created_at: at, revoked_at: null }).execute();
        await db.insertInto('mandates').values({ jti: `m-${id}`, parent_jti: null, instance_id: id, agent_id: `a${a}`, sub: 'alice', scope: 'tool:x/*', aud: '["x"]', budget: 10, depth: 0, task_id: null, issued_at: at, expires_at: now.toISOString(), revoked_at: null, kid: null }).execute();
      }
      await db.insertInto('join_tokens').values({ id: `jt-${a}`, agent_id: `a${a}`, secret_hash: 'x', uses_left: 1, expires_at: at, created_at: at }).execute();
    }
  });
  afterAll(async () => {
    await two?.close();
    await one?.cleanup();
  });

  it('revokes, suspends and purges each thing once, whichever replica gets there first', async () => {
    const depsOf = (store: Store, audit: MemoryAuditWriter): LifecycleDeps => ({ store, audit, now: () => now, changes: { transaction: (work) => store.transaction((trx) => work(trx, async () => {})) } });
    const audits = [new MemoryAuditWriter(() => now), new MemoryAuditWriter(() => now)];
    const policy = { instanceIdleSeconds: 3600, agentUnusedDays: 30, suspendUnused: true };
    const reports = await Promise.all([reap(depsOf(one.store, audits[0]!), policy), reap(depsOf(two, audits[1]!), policy)]);
    const revoked = reports.flatMap((r) => r.instances_revoked.map((i) => i.id)).sort();
    expect(revoked).toHaveLength(20);
    expect(new Set(revoked).size).toBe(20);
    expect(reports.flatMap((r) => r.agents_suspended).sort()).toEqual(['a0', 'a1', 'a2', 'a3']);
    expect(reports.flatMap((r) => r.join_tokens_purged).sort()).toEqual(['jt-0', 'jt-1', 'jt-2', 'jt-3']);
    const events = audits.flatMap((a) => a.events);
    expect(events.filter((e) => e.type === 'lifecycle.revoked')).toHaveLength(20);
    expect(events.filter((e) => e.type === 'lifecycle.suspended')).toHaveLength(4);
    expect(events.filter((e) => e.type === 'lifecycle.flagged')).toHaveLength(4);
    expect(events.filter((e) => e.type === 'lifecycle.purged').flatMap((e) => e.data!.resources!)).toHaveLength(4);
    const mandates = await one.store.db.selectFrom('mandates').select('revoked_at').execute();
    expect(mandates.every((m) => m.revoked_at !== null)).toBe(true);
  });
});

describe('the reaper on a schedule in the server', () => {
  it('starts with the server when configured and stops with it', async () => {
    const server = await startStored('sqlite', { config: { reapInterval: 60, reapInstanceIdle: 60 } });
    expect(server.ctx.config.reapInterval).toBe(60);
    // The timer is cleared on close (a pending timer would keep the server from closing).
    await server.close();
  });

  it('refuses an interval outside its bounds at start', async () => {
    await expect(startStored('sqlite', { config: { reapInterval: 5 } })).rejects.toThrow(/MANDATE_REAP_INTERVAL: must be 0 \(off\) or 60 to 86400 seconds/);
  });
});
