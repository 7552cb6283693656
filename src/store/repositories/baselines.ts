import { sql } from 'kysely';
import type { Queryable } from '../store.ts';

export interface BaselineCounter {
  kind: string;
  key: string;
  hits: number;
}

/** Behavioral baseline counters per agent, `(kind, key) → hits`, shared by every replica. */
export interface BaselinesRepository {
  /** The agent's counters of the whole kinds (every key) and of the exact (kind, key) pairs. */
  read(agentId: string, wholeKinds: readonly string[], pairs: ReadonlyArray<readonly [string, string]>): Promise<BaselineCounter[]>;
  /** Count one hit on each (kind, key), created at first use, in one statement; returns the new counts. */
  count(agentId: string, pairs: ReadonlyArray<readonly [string, string]>, at: string): Promise<Array<{ kind: string; hits: number }>>;
  /** Drop the counters of these kinds, of every agent, whose key sorts before `key`. */
  removeBefore(kinds: readonly string[], key: string): Promise<void>;
}

export function baselinesRepository(db: Queryable): BaselinesRepository {
  return {
    read: async (agentId, wholeKinds, pairs) => {
      const rows = await db
        .selectFrom('behavior_baselines')
        .select(['kind', 'key', 'hits'])
        .where('agent_id', '=', agentId)
        .where((eb) =>
          eb.or([
            ...(wholeKinds.length > 0 ? [eb('kind', 'in', [...wholeKinds])] : []),
            ...pairs.map(([kind, key]) => eb.and([eb('kind', '=', kind), eb('key', '=', key)])),
          ]),
        )
        .execute();
      return rows.map((r) => ({ kind: r.kind, key: r.key, hits: Number(r.hits) }));
    },
    count: async (agentId, pairs, at) => {
      if (pairs.length === 0) return [];
      const rows = await db
        .insertInto('behavior_baselines')
        .values(pairs.map(([kind, key]) => ({ agent_id: agentId, kind, key, hits: 1, first_seen: at, last_seen: at })))
        .onConflict((oc) => oc.columns(['agent_id', 'kind', 'key']).doUpdateSet({ hits: sql<number>`behavior_baselines.hits + 1`, last_seen: at }))
        .returning(['kind', 'hits'])
        .execute();
      return rows.map((r) => ({ kind: r.kind, hits: Number(r.hits) }));
    },
    removeBefore: async (kinds, key) => {
      if (kinds.length === 0) return;
      await db.deleteFrom('behavior_baselines').where('kind', 'in', [...kinds]).where('key', '<', key).execute();
    },
  };
}
