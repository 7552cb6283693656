import type { ConsoleSessionsTable } from '../schema.ts';
import type { Queryable } from '../store.ts';

export type ConsoleSessionRow = ConsoleSessionsTable;

/** Signed-in operator consoles, found by the hash of their cookie. */
export interface ConsoleSessionsRepository {
  insert(row: ConsoleSessionRow): Promise<void>;
  /** The session with this id hash, expired or not (the caller refuses an expired one). */
  find(idHash: string): Promise<ConsoleSessionRow | undefined>;
  /** Delete the session; the row it was, or undefined when there was none (signed out twice). */
  remove(idHash: string): Promise<ConsoleSessionRow | undefined>;
  /** Drop expired sessions; the ids of the tokens they owned, which end with them. */
  purge(now: Date): Promise<string[]>;
}

export function consoleSessionsRepository(db: Queryable): ConsoleSessionsRepository {
  return {
    insert: async (row) => {
      await db.insertInto('console_sessions').values(row).execute();
    },
    find: (idHash) => db.selectFrom('console_sessions').selectAll().where('id_hash', '=', idHash).executeTakeFirst(),
    remove: async (idHash) => {
      const row = await db.selectFrom('console_sessions').selectAll().where('id_hash', '=', idHash).executeTakeFirst();
      if (!row) return undefined;
      const deleted = await db.deleteFrom('console_sessions').where('id_hash', '=', idHash).executeTakeFirst();
      return Number(deleted.numDeletedRows) === 1 ? row : undefined;
    },
    purge: async (now) => {
      const at = now.toISOString();
      const owned = await db.selectFrom('console_sessions').select('token_id').where('expires_at', '<=', at).where('owns_token', '=', 1).execute();
      await db.deleteFrom('console_sessions').where('expires_at', '<=', at).execute();
      return owned.map((r) => r.token_id);
    },
  };
}
