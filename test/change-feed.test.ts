import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Change } from '../src/cluster/changes.ts';
import { ChangeFeed } from '../src/cluster/feed.ts';
import { channelFor, currentSchema, PostgresTransport } from '../src/cluster/postgres-transport.ts';
import { openStore } from '../src/store/open.ts';
import type { Store } from '../src/store/store.ts';
import { AgentRuntime } from '../src/sdk/runtime.ts';
import { startUpstream } from './broker.peers.ts';
import { CODE_HASH, personToken, register } from './fixtures.ts';
import { openTestStore, PG_URL, postgresAvailable, readJson, startTestServer, type TestServer, type TestStore } from './harness.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const until = async (ms: number, probe: () => boolean | Promise<boolean>) => {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(5)) if (await probe()) return true;
  return false;
};

/** Ends every listening connection of a channel's feeds, as a database restart or a proxy would. */
async function terminateListeners(admin: pg.Client, schema: string): Promise<number> {
  const { rowCount } = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [`mandate feed ${channelFor(schema)}`]);
  return rowCount ?? 0;
}

describe.runIf(await postgresAvailable())('the change feed over PostgreSQL LISTEN/NOTIFY', () => {
  let base: TestStore;
  let other: Store;
  let schema: string;
  let admin: pg.Client;
  const feeds: ChangeFeed[] = [];

  const feedOn = async (store: Store) => {
    const seen: Array<[Change['kind'], 'local' | 'remote', Change]> = [];
    const feed = new ChangeFeed(store, new PostgresTransport({ databaseUrl: PG_URL, schema: await currentSchema(store) }));
    feed.subscribe((change, origin) => {
      seen.push([change.kind, origin, change]);
    });
    await feed.start();
    feeds.push(feed);
    return { feed, seen };
  };

  beforeAll(async () => {
    base = await openTestStore('postgres');
    other = await openStore(base.openOptions);
    schema = await currentSchema(base.store);
    admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
  });

  afterAll(async () => {
    for (const feed of feeds) await feed.close();
    await admin?.end();
    await other?.close();
    await base?.cleanup();
  });

  it('delivers a change with its commit to the other replica, and to its own replica once', async () => {
    const a = await feedOn(base.store);
    const b = await feedOn(other);
    expect([a.feed.synchronized, b.feed.synchronized]).toEqual([true, true]);
    await a.feed.transaction(async (trx, emit) => {
      await trx.insertInto('settings').values({ key: 'feed-test', value: '1' }).execute();
      await emit({ kind: 'mandates.revoked', jtis: ['j1', 'j2'] });
    });
    expect(await until(2_000, () => b.seen.some(([kind]) => kind === 'mandates.revoked'))).toBe(true);
    await sleep(100);
    expect(a.seen.filter(([kind]) => kind === 'mandates.revoked')).toEqual([['mandates.revoked', 'local', { kind: 'mandates.revoked', jtis: ['j1', 'j2'] }]]);
    expect(b.seen.filter(([kind]) => kind === 'mandates.revoked').map(([, origin, change]) => [origin, change.kind, (change as { jtis?: string[] }).jtis])).toEqual([['remote', 'mandates.revoked', ['j1', 'j2']]]);
  });

  it('never delivers the change of a transaction that rolled back', async () => {
    const a = await feedOn(base.store);
    const b = await feedOn(other);
    await expect(
      a.feed.transaction(async (_trx, emit) => {
        await emit({ kind: 'agent.changed', id: 'rolled-back' });
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    await a.feed.publish({ kind: 'agent.changed', id: 'committed' });
    expect(await until(2_000, () => b.seen.some(([, , c]) => c.kind === 'agent.changed' && c.id === 'committed'))).toBe(true);
    expect([...a.seen, ...b.seen].some(([, , c]) => c.kind === 'agent.changed' && c.id === 'rolled-back')).toBe(false);
  });

  it('treats an unreadable payload on its channel as a reason to resynchronize everything', async () => {
    const b = await feedOn(other);
    const before = b.seen.filter(([kind]) => kind === 'resync').length;
    await admin.query('SELECT pg_notify($1, $2)', [channelFor(schema), '{"kind":"something-else"}']);
    expect(await until(2_000, () => b.seen.filter(([kind]) => kind === 'resync').length > before)).toBe(true);
  });

  it('goes unsynchronized when its listening connection is lost, then reconnects and resynchronizes', async () => {
    const b = await feedOn(other);
    const resyncs = () => b.seen.filter(([kind]) => kind === 'resync').length;
    const before = resyncs();
    expect(await terminateListeners(admin, schema)).toBeGreaterThan(0);
    expect(await until(2_000, () => !b.feed.synchronized)).toBe(true);
    expect(b.feed.status()).toMatchObject({ synchronized: false, reason: expect.stringMatching(/terminat|ended/i) });
    expect(await until(5_000, () => b.feed.synchronized)).toBe(true);
    expect(resyncs()).toBeGreaterThan(before);
  });
});

describe.runIf(await postgresAvailable())('a replica that cannot listen for changes', () => {
  let server: TestServer;
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let admin: pg.Client;

  beforeAll(async () => {
    server = await startTestServer('postgres');
    upstream = await startUpstream('unused');
    admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.end();
    await upstream?.close();
    await server?.close();
  });

  it('refuses enforcement with 503 and reports not ready until it has resynchronized', async () => {
    await register(server, { id: 'feed-bot', name: 'Feed bot', owner: 'alice@example.com', roles: ['operator'], code_hashes: [CODE_HASH], toolset: ['http:api:*:/**'] });
    expect((await server.api('POST', '/v1/connections', { name: 'api', base_url: `${upstream.url}/api`, allow: ['GET /**'] })).status).toBe(201);
    const join = await readJson(await server.api('POST', '/v1/agents/feed-bot/join-tokens', {}));
    const runtime = await AgentRuntime.bootstrap(server.url, { agent_id: 'feed-bot', join_token: join.token, code_hash: CODE_HASH, environment: 'dev' });
    const mandate = await runtime.obtainMandate({ subjectToken: await personToken(server, 'alice@example.com'), scope: 'http:api:*:/**', resource: `${server.url}/broker/api` });
    const agentFetch = runtime.fetchWith(mandate);
    expect((await agentFetch(`${server.url}/broker/api/items/before`)).status).toBe(200);
    const schema = await currentSchema(server.ctx.store);

    // Keep ending the replica's listening connection, as a flapping network would.
    let jamming = true;
    const jammer = (async () => {
      while (jamming) {
        await terminateListeners(admin, schema);
        await sleep(2);
      }
    })();
    let refused: { status: number; body: unknown; path: string } | undefined;
    let notReady: unknown;
    for (let i = 0; i < 200 && (!refused || !notReady); i++) {
      await until(1_000, () => !server.ctx.changes.synchronized);
      if (!refused) {
        const path = `/items/while-lost-${i}`;
        const res = await agentFetch(`${server.url}/broker/api${path}`);
        if (res.status !== 200) refused = { status: res.status, body: await readJson(res), path };
      }
      if (!notReady) {
        const ready = await fetch(`${server.url}/readyz`);
        if (ready.status === 503) notReady = await readJson(ready);
      }
    }
    jamming = false;
    await jammer;
    expect(refused).toEqual({ status: 503, body: { error: 'ERR_NOT_SYNCHRONIZED', message: expect.stringContaining('resynchronizing') }, path: expect.any(String) });
    expect(upstream.received.some((r) => r.url === `/api${refused!.path}`)).toBe(false);
    expect(notReady).toMatchObject({ status: 503, code: 'ERR_NOT_SYNCHRONIZED' });

    expect(await until(5_000, () => server.ctx.changes.synchronized)).toBe(true);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    expect((await agentFetch(`${server.url}/broker/api/items/after`)).status).toBe(200);
  });
});
