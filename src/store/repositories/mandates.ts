import type { MandatesTable } from '../schema.ts';
import type { Queryable } from '../store.ts';

export type MandateRow = MandatesTable;

/** What decides whether a mandate still stands: its own revocation, its instance's and agent's status. */
export interface MandateStandingRow {
  revoked_at: string | null;
  agent_id: string;
  instance_status: string;
  agent_status: string;
}

/** Issued mandates (RFC 9068 access tokens) and their revocation (RFC 7009). */
export interface MandatesRepository {
  insert(row: MandateRow): Promise<void>;
  find(jti: string): Promise<MandateRow | undefined>;
  /**
   * Take the row's lock while it is unrevoked (a no-op write, so PostgreSQL holds it until the
   * transaction ends); false when it is revoked or unknown.
   */
  holdUnrevoked(jti: string): Promise<boolean>;
  /** The given jtis that are not revoked yet. */
  unrevoked(jtis: readonly string[]): Promise<string[]>;
  markRevoked(jtis: readonly string[], at: string): Promise<void>;
  /** Unrevoked mandates derived directly from any of the given parents. */
  unrevokedChildren(parents: readonly string[]): Promise<string[]>;
  unrevokedOfInstance(instanceId: string): Promise<string[]>;
  unrevokedOfAgent(agentId: string): Promise<string[]>;
  /**
   * Unrevoked mandates a key signed; rows from before mandates recorded their key are matched
   * by the window in which the key was signing.
   */
  unrevokedSignedBy(kid: string, signingFrom: string, signingUntil: string | null): Promise<string[]>;
  standing(jti: string): Promise<MandateStandingRow | undefined>;
  /** Mandates neither revoked nor expired at `now`, oldest first, at most `limit`. */
  live(now: string, limit: number): Promise<MandateRow[]>;
}

const jtis = (rows: Array<{ jti: string }>) => rows.map((r) => r.jti);

export function mandatesRepository(db: Queryable): MandatesRepository {
  return {
    insert: async (row) => {
      await db.insertInto('mandates').values(row).execute();
    },
    find: (jti) => db.selectFrom('mandates').selectAll().where('jti', '=', jti).executeTakeFirst(),
    holdUnrevoked: async (jti) => {
      const held = await db.updateTable('mandates').set({ revoked_at: null }).where('jti', '=', jti).where('revoked_at', 'is', null).executeTakeFirst();
      return Number(held.numUpdatedRows) === 1;
    },
    unrevoked: async (list) =>
      list.length === 0 ? [] : jtis(await db.selectFrom('mandates').select('jti').where('jti', 'in', [...list]).where('revoked_at', 'is', null).execute()),
    markRevoked: async (list, at) => {
      if (list.length > 0) await db.updateTable('mandates').set({ revoked_at: at }).where('jti', 'in', [...list]).execute();
    },
    unrevokedChildren: async (parents) =>
      parents.length === 0
        ? []
        : jtis(await db.selectFrom('mandates').select('jti').where('parent_jti', 'in', [...parents]).where('revoked_at', 'is', null).execute()),
    unrevokedOfInstance: async (instanceId) =>
      jtis(await db.selectFrom('mandates').select('jti').where('instance_id', '=', instanceId).where('revoked_at', 'is', null).execute()),
    unrevokedOfAgent: async (agentId) =>
      jtis(await db.selectFrom('mandates').select('jti').where('agent_id', '=', agentId).where('revoked_at', 'is', null).execute()),
    unrevokedSignedBy: async (kid, signingFrom, signingUntil) =>
      jtis(
        await db
          .selectFrom('mandates')
          .select('jti')
          .where('revoked_at', 'is', null)
          .where((eb) =>
            eb.or([
              eb('kid', '=', kid),
              eb.and([eb('kid', 'is', null), eb('issued_at', '>=', signingFrom), eb('issued_at', '<=', signingUntil ?? '9999')]),
            ]),
          )
          .execute(),
      ),
    live: (now, limit) =>
      db.selectFrom('mandates').selectAll().where('revoked_at', 'is', null).where('expires_at', '>', now).orderBy('issued_at').orderBy('jti').limit(limit).execute(),
    standing: (jti) =>
      db
        .selectFrom('mandates')
        .innerJoin('instances', 'instances.id', 'mandates.instance_id')
        .innerJoin('agents', 'agents.id', 'mandates.agent_id')
        .select(['mandates.revoked_at', 'agents.id as agent_id', 'instances.status as instance_status', 'agents.status as agent_status'])
        .where('mandates.jti', '=', jti)
        .executeTakeFirst(),
  };
}
