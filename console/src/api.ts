// The console talks only to the documented JSON API (/v1), with the session cookie; every change
// echoes the session's CSRF token.

export interface Session {
  operator: string;
  email: string | null;
  roles: string[];
  csrf_token: string | null;
  expires_at: string | null;
}

export interface AuditEvent {
  id: string;
  time: string;
  chain: string;
  seq: number;
  type: string;
  actor: { instance?: string | null; agent?: string | null; person?: string | null; delegation: string[]; token?: string | null };
  action?: string | null;
  resource?: string | null;
  decision?: 'allow' | 'deny' | null;
  status: string;
  denial_reason?: string | null;
  reasons?: Record<string, unknown> | null;
  prev_hash: string;
  hash: string;
  [key: string]: unknown;
}
export interface AuditItem {
  leaf_index: number;
  event: AuditEvent;
}

export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let csrf: string | null = null;
export const setCsrf = (token: string | null) => {
  csrf = token;
};

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['x-csrf-token'] = csrf;
  const res = await fetch(path, { method, headers, credentials: 'same-origin', ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  if (!res.ok) {
    const problem = (await res.json().catch(() => ({}))) as { code?: string; detail?: string };
    throw new ApiError(res.status, problem.code ?? `HTTP_${res.status}`, problem.detail ?? res.statusText);
  }
  if (res.status === 204) return undefined as T;
  const type = res.headers.get('content-type') ?? '';
  return (type.includes('json') ? await res.json() : await res.text()) as T;
}

export async function currentSession(): Promise<Session | null> {
  try {
    const session = await api<Session>('GET', '/v1/console/session');
    setCsrf(session.csrf_token);
    return session;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

export async function signIn(token: string): Promise<Session> {
  const session = await api<Session>('POST', '/v1/console/session', { token });
  setCsrf(session.csrf_token);
  return session;
}

export async function signOut(): Promise<void> {
  await api('DELETE', '/v1/console/session');
  setCsrf(null);
}

/** Role names without their environment (`approver:prod` → `approver`). */
export const roleNames = (session: Session) => new Set(session.roles.map((r) => r.split(':')[0]!));

/** What the operator may do, as src/server/admin-routes.ts says; the server checks again. */
export function permissions(session: Session) {
  const roles = roleNames(session);
  const any = (...names: string[]) => names.some((n) => roles.has(n));
  return {
    readAgents: any('admin', 'auditor', 'security', 'owner'),
    read: any('admin', 'auditor', 'security'),
    readApprovals: any('admin', 'auditor', 'approver'),
    lifecycle: any('admin', 'security', 'owner'),
    retire: any('admin'),
    revoke: any('admin', 'security'),
    decide: any('admin', 'approver'),
    approveTool: any('admin', 'security'),
    signCheckpoint: any('admin'),
  };
}
export type Permissions = ReturnType<typeof permissions>;
