import type { TrailSinksTable } from '../schema.ts';
import type { Queryable } from '../store.ts';

/**
 * Trail sinks' storage port: definitions, the durable cursor of each (a global log position),
 * the delivery lease, and the trail reads delivery needs (events after the cursor, filtered by
 * type and by the environment of the acting agent).
 */
export type TrailSinkRow = Omit<TrailSinksTable, 'delivered_through' | 'delivered_count' | 'errors_count'> & {
  delivered_through: number;
  delivered_count: number;
  errors_count: number;
};

export type NewTrailSink = Pick<TrailSinksTable, 'name' | 'kind' | 'format' | 'settings' | 'events' | 'environments' | 'secret_sealed'>;

/** Which events a sink takes: empty lists take every type / every environment. */
export interface TrailFilter {
  types: readonly string[];
  environments: readonly string[];
}

/** One committed event at its global position: the hashed text and its hash. */
export interface TrailRow {
  position: number;
  id: string;
  chain: string;
  seq: number;
  type: string;
  time: string;
  decision: 'allow' | 'deny' | null;
  status: 'success' | 'failure' | 'pending';
  body: string;
  hash: string;
}

export interface TrailSinksRepository {
  /** Insert with the cursor at `through` (-1: from the first event); false when the name is taken. */
  insert(sink: NewTrailSink, through: number, now: Date): Promise<boolean>;
  list(): Promise<TrailSinkRow[]>;
  find(name: string): Promise<TrailSinkRow | undefined>;
  remove(name: string): Promise<boolean>;
  setPaused(name: string, paused: boolean, now: Date): Promise<boolean>;
  /** Claim or renew the delivery lease: one conditional UPDATE, so one replica holds it at a time. */
  claimLease(name: string, owner: string, now: Date, seconds: number): Promise<boolean>;
  releaseLease(name: string, owner: string): Promise<void>;
  /** Move the cursor forward (never back), only while `owner` holds the lease. */
  advance(name: string, owner: string, through: number, delivered: number, now: Date): Promise<boolean>;
  /** Count a failure (while `owner` holds the lease); the failures since the last success. */
  recordFailure(name: string, owner: string, error: string, now: Date): Promise<number>;
  /** How many events the trail holds (committed): positions below it are final. */
  trailSize(): Promise<number>;
  /** Events the filter takes after `after` and below `size`, in log order. */
  trailAfter(after: number, size: number, filter: TrailFilter, limit: number): Promise<TrailRow[]>;
  /** Events the filter takes waiting after the cursor, and the time of the oldest. */
  pending(after: number, filter: TrailFilter): Promise<{ count: number; oldest: string | null }>;
  /** Every sealed secret, for a re-seal under a new master key. */
  sealedSecrets(): Promise<Array<{ name: string; secret_sealed: string }>>;
  setSecretSealed(name: string, sealed: string, now: Date): Promise<void>;
}

const normalize = (row: TrailSinksTable): TrailSinkRow => ({
  ...row,
  delivered_through: Number(row.delivered_through),
  delivered_count: Number(row.delivered_count),
  errors_count: Number(row.errors_count),
});

export function trailSinksRepository(db: Queryable): TrailSinksRepository {
  /** The events query with the sink's filter applied. */
  const filtered = (after: number, filter: TrailFilter) => {
    let query = db.selectFrom('audit_events').where('leaf_index', '>', after);
    if (filter.types.length > 0) query = query.where('type', 'in', [...filter.types]);
    if (filter.environments.length > 0) {
      // The environment is the acting agent's (its card's); events of no agent have none.
      query = query.where('agent', 'in', db.selectFrom('agents').select('id').where('environment', 'in', [...filter.environments]));
    }
    return query;
  };
  const repo: TrailSinksRepository = {
    insert: async (sink, through, now) => {
      const at = now.toISOString();
      const result = await db
        .insertInto('trail_sinks')
        .values({ ...sink, paused_at: null, delivered_through: through, delivered_count: 0, failures: 0, errors_count: 0, created_at: at, updated_at: at })
        .onConflict((oc) => oc.column('name').doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
    },
    list: async () => (await db.selectFrom('trail_sinks').selectAll().orderBy('name').execute()).map(normalize),
    find: async (name) => {
      const row = await db.selectFrom('trail_sinks').selectAll().where('name', '=', name).executeTakeFirst();
      return row ? normalize(row) : undefined;
    },
    remove: async (name) => Number((await db.deleteFrom('trail_sinks').where('name', '=', name).executeTakeFirst()).numDeletedRows) === 1,
    setPaused: async (name, paused, now) => {
      const at = now.toISOString();
      const result = await db.updateTable('trail_sinks').set({ paused_at: paused ? at : null, updated_at: at }).where('name', '=', name).executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    claimLease: async (name, owner, now, seconds) => {
      const result = await db
        .updateTable('trail_sinks')
        .set({ lease_owner: owner, lease_until: new Date(now.getTime() + seconds * 1000).toISOString() })
        .where('name', '=', name)
        .where('paused_at', 'is', null)
        .where((eb) => eb.or([eb('lease_owner', 'is', null), eb('lease_owner', '=', owner), eb('lease_until', '<', now.toISOString())]))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    releaseLease: async (name, owner) => {
      await db.updateTable('trail_sinks').set({ lease_owner: null, lease_until: null }).where('name', '=', name).where('lease_owner', '=', owner).execute();
    },
    advance: async (name, owner, through, delivered, now) => {
      const at = now.toISOString();
      const result = await db
        .updateTable('trail_sinks')
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
    },
    recordFailure: async (name, owner, error, now) => {
      await db
        .updateTable('trail_sinks')
        .set((eb) => ({ failures: eb('failures', '+', 1), errors_count: eb('errors_count', '+', 1), last_error: error.slice(0, 1024), last_error_at: now.toISOString() }))
        .where('name', '=', name)
        .where('lease_owner', '=', owner)
        .execute();
      return (await repo.find(name))?.failures ?? 0;
    },
    trailSize: async () => Number((await db.selectFrom('audit_head').select('size').where('id', '=', 1).executeTakeFirst())?.size ?? 0),
    trailAfter: async (after, size, filter, limit) => {
      const rows = await filtered(after, filter)
        .select(['leaf_index', 'id', 'chain', 'seq', 'type', 'time', 'decision', 'status', 'body', 'hash'])
        .where('leaf_index', '<', size)
        .orderBy('leaf_index')
        .limit(limit)
        .execute();
      return rows.map((r) => ({
        position: Number(r.leaf_index),
        id: r.id,
        chain: r.chain,
        seq: Number(r.seq),
        type: r.type,
        time: r.time,
        decision: r.decision as TrailRow['decision'],
        status: r.status as TrailRow['status'],
        body: r.body,
        hash: r.hash,
      }));
    },
    pending: async (after, filter) => {
      const row = await filtered(after, filter)
        .select((eb) => [eb.fn.countAll().as('count'), eb.fn.min('time').as('oldest')])
        .executeTakeFirst();
      return { count: Number(row?.count ?? 0), oldest: (row?.oldest as string | null | undefined) ?? null };
    },
    sealedSecrets: async () => {
      const rows = await db.selectFrom('trail_sinks').select(['name', 'secret_sealed']).where('secret_sealed', 'is not', null).execute();
      return rows.map((r) => ({ name: r.name, secret_sealed: r.secret_sealed! }));
    },
    setSecretSealed: async (name, sealed, now) => {
      await db.updateTable('trail_sinks').set({ secret_sealed: sealed, updated_at: now.toISOString() }).where('name', '=', name).execute();
    },
  };
  return repo;
}
