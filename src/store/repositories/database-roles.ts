import type { BrokerDbRolesTable } from '../schema.ts';
import type { Queryable } from '../store.ts';

export type DatabaseRoleRow = BrokerDbRolesTable;

/** Short-lived database roles the broker creates per mandate and connection. */
export interface DatabaseRolesRepository {
  find(connection: string, jti: string): Promise<DatabaseRoleRow | undefined>;
  /** Claim the role for creation; false when another caller (replica) claimed it first. */
  claim(row: DatabaseRoleRow): Promise<boolean>;
  markReady(role: string): Promise<void>;
  /** Every role; or those of one connection, by expiry. */
  list(connection?: string): Promise<DatabaseRoleRow[]>;
  setPassword(connection: string, jti: string, passwordSealed: string): Promise<void>;
  remove(role: string, connection?: string): Promise<void>;
}

export function databaseRolesRepository(db: Queryable): DatabaseRolesRepository {
  return {
    find: (connection, jti) => db.selectFrom('broker_db_roles').selectAll().where('connection', '=', connection).where('jti', '=', jti).executeTakeFirst(),
    claim: (row) =>
      db
        .insertInto('broker_db_roles')
        .values(row)
        .execute()
        .then(
          () => true,
          () => false,
        ),
    markReady: async (role) => {
      await db.updateTable('broker_db_roles').set({ status: 'ready' }).where('role', '=', role).execute();
    },
    list: async (connection) => {
      let query = db.selectFrom('broker_db_roles').selectAll();
      if (connection !== undefined) query = query.where('connection', '=', connection).orderBy('expires_at');
      return query.execute();
    },
    setPassword: async (connection, jti, passwordSealed) => {
      await db.updateTable('broker_db_roles').set({ password_sealed: passwordSealed }).where('connection', '=', connection).where('jti', '=', jti).execute();
    },
    remove: async (role, connection) => {
      let query = db.deleteFrom('broker_db_roles').where('role', '=', role);
      if (connection !== undefined) query = query.where('connection', '=', connection);
      await query.execute();
    },
  };
}
