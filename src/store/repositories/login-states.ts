import type { LoginStatesTable } from '../schema.ts';
import type { Queryable } from '../store.ts';

export type LoginStateRow = LoginStatesTable;

/** Operator logins in flight (OIDC `state`, `nonce`, PKCE verifier), each usable once. */
export interface LoginStatesRepository {
  insert(row: LoginStateRow): Promise<void>;
  /**
   * Take the login with this state hash: it is deleted as it is read, so a replayed `state` finds
   * nothing, and two callbacks racing for one find it once. Expired rows are found too (the caller
   * refuses them); `purge` drops them.
   */
  take(stateHash: string): Promise<LoginStateRow | undefined>;
  purge(now: Date): Promise<void>;
}

export function loginStatesRepository(db: Queryable): LoginStatesRepository {
  return {
    insert: async (row) => {
      await db.insertInto('login_states').values(row).execute();
    },
    take: async (stateHash) => {
      const row = await db.selectFrom('login_states').selectAll().where('state_hash', '=', stateHash).executeTakeFirst();
      if (!row) return undefined;
      const deleted = await db.deleteFrom('login_states').where('state_hash', '=', stateHash).executeTakeFirst();
      return Number(deleted.numDeletedRows) === 1 ? row : undefined;
    },
    purge: async (now) => {
      await db.deleteFrom('login_states').where('expires_at', '<=', now.toISOString()).execute();
    },
  };
}
