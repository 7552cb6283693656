import type { Selectable } from 'kysely';
import type { TrustedIssuersTable } from '../schema.ts';
import type { Queryable } from '../store.ts';

export type TrustedIssuerRow = Selectable<TrustedIssuersTable>;

/** Where an issuer's keys come from. */
export type IssuerKeySource = 'inline' | 'jwks_uri' | 'discovery';

/** Which claims of a person token say who the person is and what they belong to. */
export interface ClaimMapping {
  subject: string;
  email: string;
  groups: string;
  /** Further claims carried as the person's attributes. */
  attributes: string[];
}

/** An OIDC issuer trusted for person tokens. */
export interface TrustedIssuer {
  issuer: string;
  source: IssuerKeySource;
  /** The JWKS URI (from discovery, or given); null for inline keys. */
  jwks_uri: string | null;
  /** Inline JWKS JSON; null when the keys are fetched. */
  jwks: string | null;
  /** Empty: our own issuer identifier is the audience. */
  audiences: string[];
  /** Null on rows made before the allow-list was stored: the legacy list applies. */
  algorithms: string[] | null;
  claims: ClaimMapping;
  allow_loopback: boolean;
  created_at: string;
  created_by: string | null;
}

export const DEFAULT_CLAIMS: ClaimMapping = { subject: 'sub', email: 'email', groups: 'groups', attributes: [] };

const list = (text: string | null): string[] | null => (text === null ? null : (JSON.parse(text) as string[]));

function fromRow(row: TrustedIssuerRow): TrustedIssuer {
  return {
    issuer: row.issuer,
    source: row.source as IssuerKeySource,
    jwks_uri: row.jwks_uri,
    jwks: row.source === 'inline' ? row.jwks : null,
    audiences: list(row.audiences) ?? (row.audience ? [row.audience] : []),
    algorithms: list(row.algorithms),
    claims: row.claims ? { ...DEFAULT_CLAIMS, ...(JSON.parse(row.claims) as Partial<ClaimMapping>) } : DEFAULT_CLAIMS,
    allow_loopback: Number(row.allow_loopback) === 1,
    created_at: row.created_at,
    created_by: row.created_by,
  };
}

/** OIDC issuers trusted for person tokens: inline keys, or where to fetch them. */
export interface TrustedIssuersRepository {
  find(issuer: string): Promise<TrustedIssuer | undefined>;
  all(): Promise<TrustedIssuer[]>;
  /** Adds an issuer; false when it is trusted already. */
  add(issuer: TrustedIssuer): Promise<boolean>;
  /** Removes an issuer; false when there was none. */
  remove(issuer: string): Promise<boolean>;
}

export function trustedIssuersRepository(db: Queryable): TrustedIssuersRepository {
  return {
    find: async (issuer) => {
      const row = await db.selectFrom('trusted_issuers').selectAll().where('issuer', '=', issuer).executeTakeFirst();
      return row ? fromRow(row) : undefined;
    },
    all: async () => (await db.selectFrom('trusted_issuers').selectAll().orderBy('issuer').execute()).map(fromRow),
    add: async (t) => {
      const inserted = await db
        .insertInto('trusted_issuers')
        .values({
          issuer: t.issuer,
          audience: null,
          jwks: t.jwks ?? '',
          created_at: t.created_at,
          source: t.source,
          jwks_uri: t.jwks_uri,
          audiences: JSON.stringify(t.audiences),
          algorithms: t.algorithms ? JSON.stringify(t.algorithms) : null,
          claims: JSON.stringify(t.claims),
          allow_loopback: t.allow_loopback ? 1 : 0,
          created_by: t.created_by,
        })
        .onConflict((oc) => oc.column('issuer').doNothing())
        .executeTakeFirst();
      return Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1;
    },
    remove: async (issuer) => {
      const deleted = await db.deleteFrom('trusted_issuers').where('issuer', '=', issuer).executeTakeFirst();
      return Number(deleted.numDeletedRows) === 1;
    },
  };
}
