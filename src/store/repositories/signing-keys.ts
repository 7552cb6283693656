import type { SigningKeysTable } from '../schema.ts';
import type { Queryable } from '../store.ts';

export type SigningKeyRow = SigningKeysTable;

/** Control-plane signing keys, private parts sealed by the caller before they get here. */
export interface SigningKeysRepository {
  insert(row: SigningKeyRow): Promise<void>;
  find(kid: string): Promise<SigningKeyRow | undefined>;
  /** Every key, in creation order. */
  list(): Promise<SigningKeyRow[]>;
  /** The newest key not retired (ties broken by kid). */
  newestUnretired(): Promise<SigningKeyRow | undefined>;
  reseal(kid: string, privateSealed: string): Promise<void>;
  /** Retire every key still signing, published until `expiresAt`. */
  retireSigning(at: string, expiresAt: string): Promise<void>;
  /** Withdraw a key not yet withdrawn; false when another caller withdrew it first. */
  withdraw(kid: string, at: string, retiredAt: string): Promise<boolean>;
}

export function signingKeysRepository(db: Queryable): SigningKeysRepository {
  return {
    insert: async (row) => {
      await db.insertInto('signing_keys').values(row).execute();
    },
    find: (kid) => db.selectFrom('signing_keys').selectAll().where('kid', '=', kid).executeTakeFirst(),
    list: () => db.selectFrom('signing_keys').selectAll().orderBy('created_at').execute(),
    newestUnretired: () =>
      db.selectFrom('signing_keys').selectAll().where('retired_at', 'is', null).orderBy('created_at', 'desc').orderBy('kid').executeTakeFirst(),
    reseal: async (kid, privateSealed) => {
      await db.updateTable('signing_keys').set({ private_sealed: privateSealed }).where('kid', '=', kid).execute();
    },
    retireSigning: async (at, expiresAt) => {
      await db.updateTable('signing_keys').set({ retired_at: at, expires_at: expiresAt }).where('retired_at', 'is', null).execute();
    },
    withdraw: async (kid, at, retiredAt) => {
      const updated = await db
        .updateTable('signing_keys')
        .set({ revoked_at: at, retired_at: retiredAt, expires_at: at })
        .where('kid', '=', kid)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(updated.numUpdatedRows) === 1;
    },
  };
}
