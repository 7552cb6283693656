import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { suspendDueOrphans } from '../src/lifecycle/owners.ts';
import { CODE_HASH, register } from './fixtures.ts';
import { dialects, readJson } from './harness.ts';
import { cli, startStored, type StoredServer } from './lifecycle.kit.ts';

/**
 * Owners who leave, as an enterprise IdP tells Mandate: the HTTP requests below are written the
 * way Okta and Microsoft Entra ID send them (content type, bodies, PatchOp spellings such as
 * Entra's "Replace" and "False"), against the real server on SQLite and PostgreSQL.
 */
const SCIM = 'application/scim+json';
const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** Okta's "Create User" request (password included: Okta sends one when password sync is on). */
const oktaUser = (userName: string, given: string, managerId?: string) => ({
  schemas: [CORE, ...(managerId ? [ENTERPRISE] : [])],
  userName,
  name: { givenName: given, familyName: 'Doe' },
  emails: [{ primary: true, value: userName, type: 'work' }],
  displayName: `${given} Doe`,
  locale: 'en-US',
  externalId: `00u${given.toLowerCase()}1234`,
  groups: [],
  password: 'okta-sync-Pa55word!',
  active: true,
  ...(managerId ? { [ENTERPRISE]: { manager: { value: managerId } } } : {}),
});

/** Entra's "Create User" request. */
const entraUser = (userName: string) => ({
  schemas: [CORE, ENTERPRISE],
  externalId: 'a1b2c3d4-entra',
  userName,
  active: true,
  displayName: 'Ed Example',
  emails: [{ primary: true, type: 'work', value: userName }],
  meta: { resourceType: 'User' },
  name: { formatted: 'Ed Example', familyName: 'Example', givenName: 'Ed' },
  roles: [],
  [ENTERPRISE]: { department: 'Platform' },
});

async function startReceiver() {
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
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, bodies, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

async function until<T>(what: string, probe: () => T | undefined | false, ms = 8000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const card = (id: string, owner: string) => ({ id, name: id, owner, environment: 'dev', code_hashes: [CODE_HASH], toolset: ['tool:everything/echo'] });

describe.each(await dialects())('owners who leave, told over SCIM 2.0 (%s)', { timeout: 60_000 }, (dialect) => {
  let server: StoredServer;
  let scimToken: string;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let clock = Date.now();
  const ids: Record<string, string> = {};

  const scim = (method: string, path: string, body?: unknown, token = scimToken) =>
    fetch(`${server.url}/scim/v2${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, accept: SCIM, ...(body === undefined ? {} : { 'content-type': `${SCIM}; charset=utf-8` }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const owner = async (agent: string) => (await readJson(await server.api('GET', `/v1/agents/${agent}`))).owner;
  const status = async (agent: string) => (await readJson(await server.api('GET', `/v1/agents/${agent}`))).status;

  beforeAll(async () => {
    clock = Date.now();
    server = await startStored(dialect, { now: () => new Date(clock), config: { offboardReassign: 'manager', offboardGrace: 3600 } });
    receiver = await startReceiver();
    const sink = await server.api('POST', '/v1/sinks', { name: 'new-owners', url: receiver.url, key: 'whsec-lifecycle-0123456789', events: ['lifecycle.owner_reassigned'] });
    expect(sink.status, await sink.clone().text()).toBe(201);
    const created = await server.api('POST', '/v1/scim/token', {});
    expect(created.status).toBe(201);
    scimToken = (await readJson(created)).token;
    for (const [id, who] of [['triage', 'isabelle@example.com'], ['archiver', 'Isabelle@Example.com'], ['nightly', 'ed@example.com'], ['reports', 'olga@example.com']] as const) await register(server, card(id, who));
  });
  afterAll(async () => {
    await server?.close();
    await receiver?.close();
  });

  it('keeps only a digest of the SCIM token and refuses any other bearer with a SCIM error body', async () => {
    const settings = await server.ctx.store.db.selectFrom('settings').selectAll().execute();
    expect(JSON.stringify(settings)).not.toContain(scimToken);
    for (const token of ['scim_wrong', '']) {
      const res = await scim('GET', '/Users', undefined, token);
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toContain(SCIM);
      expect(await readJson(res)).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '401' });
    }
    // An operator token is not a SCIM token.
    expect((await scim('GET', '/Users', undefined, server.token)).status).toBe(401);
    const config = await scim('GET', '/ServiceProviderConfig');
    expect(config.status).toBe(200);
    expect(await readJson(config)).toMatchObject({ patch: { supported: true }, filter: { supported: true, maxResults: 200 }, bulk: { supported: false } });
    const groups = await scim('GET', '/Groups');
    expect(groups.status).toBe(404);
    expect(groups.headers.get('content-type')).toContain(SCIM);
    expect(await readJson(groups)).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '404' });
  });

  it('provisions Users as Okta sends them, never keeping the password, and finds them by userName', async () => {
    const manager = await scim('POST', '/Users', oktaUser('mona@example.com', 'Mona'));
    expect(manager.status, await manager.clone().text()).toBe(201);
    ids.mona = (await readJson(manager)).id;
    const res = await scim('POST', '/Users', oktaUser('isabelle@example.com', 'Isabelle', ids.mona));
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toContain(SCIM);
    const user = await readJson(res);
    ids.isabelle = user.id;
    expect(res.headers.get('location')).toBe(`${server.url}/scim/v2/Users/${user.id}`);
    expect(user).toMatchObject({ id: expect.any(String), userName: 'isabelle@example.com', active: true, [ENTERPRISE]: { manager: { value: ids.mona } }, meta: { resourceType: 'User', version: 'W/"1"' } });
    expect(JSON.stringify(user)).not.toContain('okta-sync');
    const rows = await server.ctx.store.db.selectFrom('persons').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain('okta-sync');

    const again = await scim('POST', '/Users', oktaUser('isabelle@example.com', 'Isabelle'));
    expect(again.status).toBe(409);
    expect(await readJson(again)).toMatchObject({ status: '409', scimType: 'uniqueness' });

    const found = await readJson(await scim('GET', `/Users?filter=${encodeURIComponent('userName eq "isabelle@example.com"')}&startIndex=1&count=100`));
    expect(found).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 1, startIndex: 1, itemsPerPage: 1, Resources: [{ id: ids.isabelle }] });
    expect((await readJson(await scim('GET', `/Users?filter=${encodeURIComponent('userName eq "nobody@example.com"')}`))).totalResults).toBe(0);
    const bad = await scim('GET', `/Users?filter=${encodeURIComponent('name.familyName co "Doe"')}`);
    expect(bad.status).toBe(400);
    expect(await readJson(bad)).toMatchObject({ scimType: 'invalidFilter' });
    expect((await scim('POST', '/Users', { userName: 'x' })).status).toBe(400);
  });

  it('hands the agents of a person Okta deactivates to their manager, audited, and notifies the new owner', async () => {
    const res = await scim('PATCH', `/Users/${ids.isabelle}`, { schemas: [PATCH], Operations: [{ op: 'replace', value: { active: false } }] });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await readJson(res)).toMatchObject({ active: false, meta: { version: 'W/"2"' } });
    expect(await owner('triage')).toBe('mona@example.com');
    expect(await owner('archiver')).toBe('mona@example.com');
    expect(await status('triage')).toBe('active');
    expect((await server.events('lifecycle.orphaned')).map((e) => e.actor.agent).sort()).toEqual(['archiver', 'triage']);
    const handed = await server.events('lifecycle.owner_reassigned');
    expect(handed.map((e) => e.data)).toEqual([
      { owner: 'mona@example.com', previous_owner: 'Isabelle@Example.com' },
      { owner: 'mona@example.com', previous_owner: 'isabelle@example.com' },
    ]);
    expect(await server.events('lifecycle.owner_left')).toEqual([expect.objectContaining({ resource: 'isabelle@example.com', reasons: { message: 'person isabelle@example.com offboarded by scim' } })]);
    const delivered = await until('the notification', () => receiver.bodies.length >= 2 && receiver.bodies);
    expect(delivered.map((b) => b.event.data.owner)).toEqual(['mona@example.com', 'mona@example.com']);
    expect(delivered[0]!.event.reasons.message).toContain('now belongs to mona@example.com (their manager)');
    expect((await readJson(await server.api('GET', '/v1/lifecycle/flags'))).flags).toEqual([]);
  });

  it('orphans the agents of a person Entra deactivates without a manager, then suspends them once the grace period ends', async () => {
    const created = await scim('POST', '/Users', entraUser('ed@example.com'));
    expect(created.status, await created.clone().text()).toBe(201);
    ids.ed = (await readJson(created)).id;
    // Entra's attribute updates: a path with a value filter, and its capitalised ops.
    const renamed = await scim('PATCH', `/Users/${ids.ed}`, { schemas: [PATCH], Operations: [{ op: 'Replace', path: 'emails[type eq "work"].value', value: 'ed@example.com' }, { op: 'Replace', path: 'name.givenName', value: 'Eddie' }] });
    expect(renamed.status, await renamed.clone().text()).toBe(200);
    expect(await readJson(renamed)).toMatchObject({ name: { givenName: 'Eddie' } });

    const res = await scim('PATCH', `/Users/${ids.ed}`, { schemas: [PATCH], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] });
    expect(res.status, await res.clone().text()).toBe(200);
    expect((await readJson(res)).active).toBe(false);
    expect(await owner('nightly')).toBe('ed@example.com');
    const orphaned = (await server.events('lifecycle.orphaned')).find((e) => e.actor.agent === 'nightly')!;
    expect(orphaned.data).toEqual({ previous_owner: 'ed@example.com', due_at: new Date(clock + 3_600_000).toISOString() });
    expect((await readJson(await server.api('GET', '/v1/lifecycle/flags'))).flags).toEqual([expect.objectContaining({ agent_id: 'nightly', flag: 'orphaned', due_at: orphaned.data.due_at })]);

    const deps = { store: server.ctx.store, changes: server.ctx.changes, audit: server.ctx.audit, now: server.ctx.now };
    expect(await suspendDueOrphans(deps)).toEqual([]);
    clock += 3_601_000;
    expect(await suspendDueOrphans(deps)).toEqual(['nightly']);
    expect(await suspendDueOrphans(deps)).toEqual([]);
    expect(await status('nightly')).toBe('suspended');
    expect((await server.events('lifecycle.suspended')).at(-1)).toMatchObject({ actor: { agent: 'nightly' }, reasons: { message: expect.stringContaining('owner ed@example.com left') } });

    // A card naming ed applied after they left is caught when the IdP sends the deactivation again;
    // the agent flagged before gets no second event.
    await register(server, card('late', 'ed@example.com'));
    expect((await scim('PATCH', `/Users/${ids.ed}`, { schemas: [PATCH], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] })).status).toBe(200);
    expect((await server.events('lifecycle.orphaned')).map((e) => e.actor.agent).filter((a) => a === 'nightly' || a === 'late')).toEqual(['nightly', 'late']);
    // Nothing left to do: one more identical PATCH offboards no one.
    const before = (await server.events('lifecycle.owner_left')).length;
    expect((await scim('PATCH', `/Users/${ids.ed}`, { schemas: [PATCH], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] })).status).toBe(200);
    expect(await server.events('lifecycle.owner_left')).toHaveLength(before);
  });

  it('sets a manager the way Entra does and deletes a User (gone afterwards)', async () => {
    const res = await scim('PATCH', `/Users/${ids.mona}`, { schemas: [PATCH], Operations: [{ op: 'Add', path: `${ENTERPRISE}:manager`, value: ids.ed }] });
    expect(res.status, await res.clone().text()).toBe(200);
    expect((await readJson(res))[ENTERPRISE]).toEqual({ manager: { value: ids.ed } });
    const unknown = await scim('PATCH', `/Users/${ids.mona}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'bogus[[', value: 1 }] });
    expect(unknown.status).toBe(400);
    expect(await readJson(unknown)).toMatchObject({ scimType: 'invalidPath' });
    expect((await scim('DELETE', `/Users/${ids.isabelle}`)).status).toBe(204);
    const gone = await scim('GET', `/Users/${ids.isabelle}`);
    expect(gone.status).toBe(404);
    expect(await readJson(gone)).toMatchObject({ status: '404' });
  });

  it('offboards an operator through the admin API, to a person the admin names', async () => {
    expect((await server.api('POST', '/v1/operators', { subject: 'olga', email: 'olga@example.com', name: 'Olga', roles: ['owner'] })).status).toBe(201);
    const res = await server.api('POST', '/v1/persons/olga/offboard', { reassign_to: 'mona@example.com' });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await readJson(res)).toEqual({ person: 'olga', agents: [{ agent: 'reports', outcome: 'reassigned', owner: 'mona@example.com', previous_owner: 'olga@example.com', due_at: null }] });
    expect(await owner('reports')).toBe('mona@example.com');
    const missing = await server.api('POST', '/v1/persons/nobody@example.com/offboard', {});
    expect(missing.status).toBe(404);
    expect(await readJson(missing)).toMatchObject({ code: 'ERR_PERSON_NOT_FOUND' });
    const gone = await server.api('POST', '/v1/persons/mona@example.com/offboard', { reassign_to: 'ed@example.com' });
    expect(gone.status).toBe(404);
    expect(await owner('triage')).toBe('mona@example.com');
    // The refused request changed nothing: mona is still active.
    expect((await readJson(await scim('GET', `/Users/${ids.mona}`))).active).toBe(true);
  });

  it('shows persons and offboards from the CLI (person list, person offboard --to)', async () => {
    await register(server, card('ledger', 'mona@example.com'));
    const listed = await cli(server, ['person', 'list']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^USER_NAME\s+EMAIL\s+DISPLAY_NAME\s+ACTIVE\s+MANAGER\s+LEFT_AT\s+ID$/m);
    expect(listed.stdout).toMatch(/^ed@example.com\s+ed@example.com\s+Ed Example\s+no\s+-\s+\S+/m);
    expect(listed.stdout).toMatch(/^mona@example.com\s+mona@example.com\s+Mona Doe\s+yes\s+ed@example.com\s+-\s+/m);
    const off = await cli(server, ['person', 'offboard', 'mona@example.com', '--to', 'olga@example.com']);
    expect(off.code, off.stderr).toBe(0);
    expect(off.stdout).toMatch(/^mona@example.com offboarded; 4 agent\(s\) they owned:$/m);
    expect(off.stdout).toMatch(/^ledger\s+reassigned\s+olga@example.com\s+mona@example.com\s+-$/m);
  });
});
