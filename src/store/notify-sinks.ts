import type { NotifySinksTable } from './schema.ts';
import type { Queryable } from './store.ts';

/**
 * The notification sinks' storage port: definitions, the durable cursor of each (a global log
 * position), the delivery lease, and the trail reads delivery needs. Only this module builds
 * their queries.
 */
export type SinkRow = Omit<NotifySinksTable, 'delivered_through' | 'delivered_count'> & { delivered_through: number; delivered_count: number };

export interface NewSink {
  name: string;
  url: string;
  format: string;
  events: string;
  key_sealed: string | null;
  key_secret: string | null;
}

/** One event of the trail at its global position. */
export interface TrailEntry {
  position: number;
  type: string;
  body: string;
  hash: string;
}

const normalize = (row: NotifySinksTable): SinkRow => ({ ...row, delivered_through: Number(row.delivered_through), delivered_count: Number(row.delivered_count) });

/** Insert a sink whose cursor starts at the trail's current end; false when the name is taken. */
export async function insertSink(db: Queryable, sink: NewSink, now: Date): Promise<boolean> {
  const at = now.toISOString();
  const head = await trailSize(db);
  const result = await db
    .insertInto('notify_sinks')
    .values({ ...sink, paused_at: null, delivered_through: head - 1, delivered_count: 0, failures: 0, created_at: at, updated_at: at })
    .onConflict((oc) => oc.column('name').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
}

export async function listSinks(db: Queryable): Promise<SinkRow[]> {
  return (await db.selectFrom('notify_sinks').selectAll().orderBy('name').execute()).map(normalize);
}

export async function findSink(db: Queryable, name: string): Promise<SinkRow | undefined> {
  const row = await db.selectFrom('notify_sinks').selectAll().where('name', '=', name).executeTakeFirst();
  return row ? normalize(row) : undefined;
}

export async function deleteSink(db: Queryable, name: string): Promise<boolean> {
  const result = await db.deleteFrom('notify_sinks').where('name', '=', name).executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}

export async function setSinkPaused(db: Queryable, name: string, paused: boolean, now: Date): Promise<boolean> {
  const at = now.toISOString();
  const result = await db.updateTable('notify_sinks').set({ paused_at: paused ? at : null, updated_at: at }).where('name', '=', name).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * Claim or renew the delivery lease of a sink: one conditional UPDATE, so on PostgreSQL only
 * one replica holds it at a time (the row lock orders competing claims).
 */
export async function claimLease(db: Queryable, name: string, owner: string, now: Date, seconds: number): Promise<boolean> {
  const at = now.toISOString();
  const result = await db
    .updateTable('notify_sinks')
    .set({ lease_owner: owner, lease_until: new Date(now.getTime() + seconds * 1000).toISOString() })
    .where('name', '=', name)
    .where('paused_at', 'is', null)
    .where((eb) => eb.or([eb('lease_owner', 'is', null), eb('lease_owner', '=', owner), eb('lease_until', '<', at)]))
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function releaseLease(db: Queryable, name: string, owner: string): Promise<void> {
  await db.updateTable('notify_sinks').set({ lease_owner: null, lease_until: null }).where('name', '=', name).where('lease_owner', '=', owner).execute();
}

/** Move the cursor forward (never back), only while this owner holds the lease. */
export async function advanceCursor(db: Queryable, name: string, owner: string, through: number, delivered: number, now: Date): Promise<boolean> {
  const at = now.toISOString();
  const result = await db
    .updateTable('notify_sinks')
    .set((eb) => ({
      delivered_through: through,
      delivered_count: eb('delivered_count', '+', delivered),
      ...(delivered > 0 ? { last_delivered_at: at, failures: 0 } : {}),
    }))
    .where('name', '=', name)
    .where('lease_owner', '=', owner)
    .where('delivered_through', '<', through)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function recordFailure(db: Queryable, name: string, owner: string, error: string, now: Date): Promise<number> {
  await db
    .updateTable('notify_sinks')
    .set((eb) => ({ failures: eb('failures', '+', 1), last_error: error.slice(0, 1024), last_error_at: now.toISOString() }))
    .where('name', '=', name)
    .where('lease_owner', '=', owner)
    .execute();
  return (await findSink(db, name))?.failures ?? 0;
}

/** How many events the trail holds (committed): positions below it are final. */
export async function trailSize(db: Queryable): Promise<number> {
  const row = await db.selectFrom('audit_head').select('size').where('id', '=', 1).executeTakeFirst();
  return Number(row?.size ?? 0);
}

/** Events of the given types after `after` and below `size`, in log order. */
export async function trailAfter(db: Queryable, after: number, size: number, types: readonly string[], limit: number): Promise<TrailEntry[]> {
  if (types.length === 0) return [];
  const rows = await db
    .selectFrom('audit_events')
    .select(['leaf_index', 'type', 'body', 'hash'])
    .where('leaf_index', '>', after)
    .where('leaf_index', '<', size)
    .where('type', 'in', [...types])
    .orderBy('leaf_index')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ position: Number(r.leaf_index), type: r.type, body: r.body, hash: r.hash }));
}

/** Events of the given types waiting after the cursor, and the time of the oldest. */
export async function pendingOf(db: Queryable, after: number, types: readonly string[]): Promise<{ count: number; oldest: string | null }> {
  if (types.length === 0) return { count: 0, oldest: null };
  const row = await db
    .selectFrom('audit_events')
    .select((eb) => [eb.fn.countAll().as('count'), eb.fn.min('time').as('oldest')])
    .where('leaf_index', '>', after)
    .where('type', 'in', [...types])
    .executeTakeFirst();
  return { count: Number(row?.count ?? 0), oldest: (row?.oldest as string | null | undefined) ?? null };
}

/** The sealed value of a stored secret, for a sink that signs with it. */
export async function sealedSecret(db: Queryable, name: string): Promise<string | undefined> {
  return (await db.selectFrom('secrets').select('sealed').where('name', '=', name).executeTakeFirst())?.sealed;
}

/** Every sink key sealed under the master key (for a rewrap after a master key rotation). */
export async function sealedSinkKeys(db: Queryable): Promise<Array<{ name: string; key_sealed: string }>> {
  const rows = await db.selectFrom('notify_sinks').select(['name', 'key_sealed']).where('key_sealed', 'is not', null).execute();
  return rows.map((r) => ({ name: r.name, key_sealed: r.key_sealed! }));
}

export async function setSinkKeySealed(db: Queryable, name: string, sealed: string, now: Date): Promise<void> {
  await db.updateTable('notify_sinks').set({ key_sealed: sealed, updated_at: now.toISOString() }).where('name', '=', name).execute();
}
