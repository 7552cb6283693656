import type { SecretsTable } from '../schema.ts';
import type { Queryable } from '../store.ts';

export type SecretRow = SecretsTable;
export type SecretMetadataRow = Omit<SecretRow, 'sealed'>;

/** Upstream credentials, sealed by the caller; this port never sees a clear value. */
export interface SecretsRepository {
  /** Store a sealed value under a name, replacing an earlier one (its creation time stays). */
  put(row: SecretRow): Promise<void>;
  /** Metadata of every secret, ordered by name. */
  list(): Promise<SecretMetadataRow[]>;
  /** Which of the names exist. */
  existing(names: readonly string[]): Promise<Set<string>>;
  find(name: string): Promise<SecretRow | undefined>;
  /** Every sealed value, for a re-seal under a new master key. */
  all(): Promise<SecretRow[]>;
  reseal(name: string, sealed: string, masterKeyId: string, at: string): Promise<void>;
  /** False when there was no such secret. */
  remove(name: string): Promise<boolean>;
}

export function secretsRepository(db: Queryable): SecretsRepository {
  return {
    put: async (row) => {
      await db
        .insertInto('secrets')
        .values(row)
        .onConflict((oc) => oc.column('name').doUpdateSet({ sealed: row.sealed, master_key_id: row.master_key_id, updated_at: row.updated_at }))
        .execute();
    },
    list: () => db.selectFrom('secrets').select(['name', 'master_key_id', 'created_at', 'updated_at']).orderBy('name').execute(),
    existing: async (names) => {
      if (names.length === 0) return new Set();
      return new Set((await db.selectFrom('secrets').select('name').where('name', 'in', [...names]).execute()).map((r) => r.name));
    },
    find: (name) => db.selectFrom('secrets').selectAll().where('name', '=', name).executeTakeFirst(),
    all: () => db.selectFrom('secrets').selectAll().execute(),
    reseal: async (name, sealed, masterKeyId, at) => {
      await db.updateTable('secrets').set({ sealed, master_key_id: masterKeyId, updated_at: at }).where('name', '=', name).execute();
    },
    remove: async (name) => {
      const result = await db.deleteFrom('secrets').where('name', '=', name).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}
