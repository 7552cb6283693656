import { sha256Of } from './credentials.ts';
import type { FindingDraft } from './finding-draft.ts';

/**
 * Scanner 2: PostgreSQL logins that are active but were not created by Mandate. A database
 * behind the broker should be reached through per-mandate roles; any other role that can log
 * in (and is not the connection's own user or on the allow list) is a standing credential
 * someone may hand an agent. A role named like Mandate's dynamic roles that Mandate does not
 * track is reported too: left behind, or made to look like one.
 */
export interface LoginRole {
  rolname: string;
  rolsuper: boolean;
  rolcreaterole: boolean;
  rolvaliduntil: string | Date | null;
}

/** The catalogue query the scan runs (roles that can log in, PostgreSQL's own excepted). */
export const LOGIN_ROLES_SQL = "SELECT rolname, rolsuper, rolcreaterole, rolvaliduntil FROM pg_catalog.pg_roles WHERE rolcanlogin AND rolname NOT LIKE 'pg\\_%' ORDER BY rolname";

/** Mandate's dynamic role names (the broker's `mandate_<24 hex>`). */
const DYNAMIC_ROLE = /^mandate_[0-9a-f]{24}$/;

export interface PostgresScope {
  connection: string;
  /** The connection's database, as findings name it (host and database, no credentials). */
  database: string;
  /** The login the connection itself uses. */
  ownUser: string;
  /** Roles Mandate created for live mandates (its broker's table). */
  mandateRoles: ReadonlySet<string>;
  allow: ReadonlySet<string>;
}

export function scanLoginRoles(roles: readonly LoginRole[], scope: PostgresScope, now: Date): FindingDraft[] {
  const drafts: FindingDraft[] = [];
  for (const role of roles) {
    const name = role.rolname;
    if (name === scope.ownUser || scope.allow.has(name) || scope.mandateRoles.has(name)) continue;
    const until = role.rolvaliduntil === null ? null : new Date(role.rolvaliduntil);
    if (until && until.getTime() <= now.getTime()) continue;
    const dynamic = DYNAMIC_ROLE.test(name);
    drafts.push({
      scanner: 'postgres-login',
      kind: dynamic ? 'untracked-dynamic-role' : 'postgres-login',
      severity: role.rolsuper || role.rolcreaterole ? 'high' : 'medium',
      source: `${scope.connection}: ${scope.database}`,
      title: dynamic
        ? `login role ${name} on ${scope.database} looks like a Mandate mandate role but no live mandate holds it`
        : `login role ${name} on ${scope.database} was not created by Mandate${role.rolsuper ? ' (superuser)' : ''}`,
      key: sha256Of(`postgres\n${scope.database}\n${name}`),
      detail: { connection: scope.connection, database: scope.database, role: name, superuser: role.rolsuper, createrole: role.rolcreaterole, valid_until: until ? until.toISOString() : null },
    });
  }
  return drafts;
}

/** Host, port and database of a DSN, never its user or password. */
export function databaseOf(dsn: string): { database: string; user: string } {
  try {
    const url = new URL(dsn);
    return { database: `${url.hostname}:${url.port || '5432'}/${url.pathname.replace(/^\//, '') || 'postgres'}`, user: decodeURIComponent(url.username) };
  } catch {
    return { database: 'unknown', user: '' };
  }
}
