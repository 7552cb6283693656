import type { Queryable } from './store.ts';

/**
 * The operators repository: persons who operate Mandate and their API tokens. Role grants are
 * opaque strings here (`approver:prod`); `src/people/roles.ts` gives them meaning.
 */
export interface OperatorRecord {
  subject: string;
  email: string;
  name: string;
  roles: string[];
  created_at: string;
  created_by: string | null;
}

export interface OperatorTokenRecord {
  id: string;
  name: string;
  roles: string[];
  operator: string | null;
  secret_hash: string;
  created_at: string;
  created_by: string | null;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

const rolesOf = (json: string | null, legacy: string): string[] => (json === null ? [legacy] : (JSON.parse(json) as string[]));

export async function insertOperator(db: Queryable, operator: OperatorRecord): Promise<void> {
  await db.insertInto('operators').values({ ...operator, roles: JSON.stringify(operator.roles) }).execute();
}

/** The operator with this subject, or (for owners named by email on agent cards) this email. */
export async function findOperator(db: Queryable, subjectOrEmail: string): Promise<OperatorRecord | undefined> {
  const row = await db
    .selectFrom('operators')
    .selectAll()
    .where((eb) => eb.or([eb('subject', '=', subjectOrEmail), eb('email', '=', subjectOrEmail)]))
    .orderBy('subject')
    .executeTakeFirst();
  return row && { ...row, roles: JSON.parse(row.roles) as string[] };
}

/** Replace an operator's email, display name and roles (a single sign-on refreshes them at each login). */
export async function updateOperator(db: Queryable, subject: string, change: { email: string; name: string; roles: string[] }): Promise<void> {
  await db.updateTable('operators').set({ ...change, roles: JSON.stringify(change.roles) }).where('subject', '=', subject).execute();
}

export async function listOperators(db: Queryable): Promise<OperatorRecord[]> {
  const rows = await db.selectFrom('operators').selectAll().orderBy('subject').execute();
  return rows.map((row) => ({ ...row, roles: JSON.parse(row.roles) as string[] }));
}

export async function deleteOperator(db: Queryable, subject: string): Promise<boolean> {
  const result = await db.deleteFrom('operators').where('subject', '=', subject).executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}

export async function insertOperatorToken(db: Queryable, token: Omit<OperatorTokenRecord, 'last_used_at' | 'revoked_at'>): Promise<void> {
  await db
    .insertInto('admin_tokens')
    .values({
      ...token,
      // The legacy single-role column keeps the first grant's role for readers that know only it.
      role: token.roles[0]!.split(':')[0]!,
      roles: JSON.stringify(token.roles),
      last_used_at: null,
      revoked_at: null,
    })
    .execute();
}

export async function findOperatorToken(db: Queryable, id: string): Promise<OperatorTokenRecord | undefined> {
  const row = await db.selectFrom('admin_tokens').selectAll().where('id', '=', id).executeTakeFirst();
  return row && tokenRecord(row);
}

export async function listOperatorTokens(db: Queryable, filter: { operator?: string; ids?: string[] } = {}): Promise<OperatorTokenRecord[]> {
  let query = db.selectFrom('admin_tokens').selectAll().orderBy('created_at').orderBy('id');
  if (filter.operator !== undefined) query = query.where('operator', '=', filter.operator);
  if (filter.ids !== undefined) query = query.where('id', 'in', filter.ids.length > 0 ? filter.ids : ['']);
  return (await query.execute()).map(tokenRecord);
}

export async function countOperatorTokens(db: Queryable): Promise<number> {
  const row = await db
    .selectFrom('admin_tokens')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Revoke a token still live; false when it was revoked already (or never existed). */
export async function revokeOperatorToken(db: Queryable, id: string, now: Date): Promise<boolean> {
  const result = await db.updateTable('admin_tokens').set({ revoked_at: now.toISOString() }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function revokeTokensOf(db: Queryable, operator: string, now: Date): Promise<number> {
  const result = await db.updateTable('admin_tokens').set({ revoked_at: now.toISOString() }).where('operator', '=', operator).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Record a use, at most once per `every` ms per token so reads do not turn into a write each. */
export async function touchOperatorToken(db: Queryable, id: string, now: Date, everyMs: number): Promise<void> {
  const before = new Date(now.getTime() - everyMs).toISOString();
  await db
    .updateTable('admin_tokens')
    .set({ last_used_at: now.toISOString() })
    .where('id', '=', id)
    .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<=', before)]))
    .execute();
}

/** Tokens neither revoked nor expired at `now`. */
export async function liveOperatorTokens(db: Queryable, now: Date): Promise<OperatorTokenRecord[]> {
  const rows = await db
    .selectFrom('admin_tokens')
    .selectAll()
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now.toISOString())]))
    .execute();
  return rows.map(tokenRecord);
}

function tokenRecord(row: {
  id: string; name: string; role: string; roles: string | null; operator: string | null; secret_hash: string; created_at: string;
  created_by: string | null; expires_at: string | null; last_used_at: string | null; revoked_at: string | null;
}): OperatorTokenRecord {
  const { role, roles, ...rest } = row;
  return { ...rest, roles: rolesOf(roles, role) };
}
