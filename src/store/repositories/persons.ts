import type { PersonsTable } from '../schema.ts';
import type { Queryable } from '../store.ts';

export type PersonRow = PersonsTable;

export interface PersonFilter {
  userName?: string | undefined;
  externalId?: string | undefined;
}

/** Persons provisioned over SCIM 2.0; `src/people/scim.ts` gives the rows their RFC 7643 meaning. */
export interface PersonsRepository {
  insert(row: PersonRow): Promise<void>;
  find(id: string): Promise<PersonRow | undefined>;
  findByUserName(userName: string): Promise<PersonRow | undefined>;
  /** The person an agent card's `owner` names: by userName, else by email (oldest first). */
  findByOwner(owner: string): Promise<PersonRow | undefined>;
  /** Ordered by creation, then id; `userName` or `externalId` narrows (SCIM `filter=userName eq "…"`). */
  list(filter: PersonFilter & { offset: number; limit: number }): Promise<PersonRow[]>;
  count(filter: PersonFilter): Promise<number>;
  /** Compare-and-set on `version`: false when another write came first. */
  update(id: string, version: number, change: Omit<PersonRow, 'id' | 'created_at' | 'version'>): Promise<boolean>;
  remove(id: string): Promise<void>;
}

export function personsRepository(db: Queryable): PersonsRepository {
  return {
    insert: async (row) => {
      await db.insertInto('persons').values(row).execute();
    },
    find: (id) => db.selectFrom('persons').selectAll().where('id', '=', id).executeTakeFirst(),
    findByUserName: (userName) => db.selectFrom('persons').selectAll().where('user_name', '=', userName).executeTakeFirst(),
    findByOwner: async (owner) =>
      (await db.selectFrom('persons').selectAll().where('user_name', '=', owner).executeTakeFirst()) ??
      db.selectFrom('persons').selectAll().where('email', '=', owner).orderBy('created_at').orderBy('id').executeTakeFirst(),
    list: async ({ userName, externalId, offset, limit }) => {
      let query = db.selectFrom('persons').selectAll().orderBy('created_at').orderBy('id').limit(limit).offset(offset);
      if (userName !== undefined) query = query.where('user_name', '=', userName);
      if (externalId !== undefined) query = query.where('external_id', '=', externalId);
      return query.execute();
    },
    count: async ({ userName, externalId }) => {
      let query = db.selectFrom('persons').select((eb) => eb.fn.countAll<number | string>().as('n'));
      if (userName !== undefined) query = query.where('user_name', '=', userName);
      if (externalId !== undefined) query = query.where('external_id', '=', externalId);
      return Number((await query.executeTakeFirstOrThrow()).n);
    },
    update: async (id, version, change) => {
      const result = await db
        .updateTable('persons')
        .set({ ...change, version: version + 1 })
        .where('id', '=', id)
        .where('version', '=', version)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    remove: async (id) => {
      await db.deleteFrom('persons').where('id', '=', id).execute();
    },
  };
}

const SCIM_TOKEN = 'scim_token_digest';

/** The SHA-256 digest of the SCIM bearer token (the token itself is never stored). */
export async function scimTokenDigest(db: Queryable): Promise<string | undefined> {
  return (await db.selectFrom('settings').select('value').where('key', '=', SCIM_TOKEN).executeTakeFirst())?.value;
}

export async function setScimTokenDigest(db: Queryable, digest: string): Promise<void> {
  await db
    .insertInto('settings')
    .values({ key: SCIM_TOKEN, value: digest })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value: digest }))
    .execute();
}
