import type { TrustedIssuersTable } from '../schema.ts';
import type { Queryable } from '../store.ts';

export type TrustedIssuerRow = TrustedIssuersTable;

/** OIDC issuers trusted for person tokens, their JWKS inline. */
export interface TrustedIssuersRepository {
  find(issuer: string): Promise<TrustedIssuerRow | undefined>;
  /** Add an issuer or replace its keys and audience. */
  put(row: TrustedIssuerRow): Promise<void>;
}

export function trustedIssuersRepository(db: Queryable): TrustedIssuersRepository {
  return {
    find: (issuer) => db.selectFrom('trusted_issuers').selectAll().where('issuer', '=', issuer).executeTakeFirst(),
    put: async (row) => {
      const { issuer: _issuer, ...rest } = row;
      await db
        .insertInto('trusted_issuers')
        .values(row)
        .onConflict((oc) => oc.column('issuer').doUpdateSet(rest))
        .execute();
    },
  };
}
