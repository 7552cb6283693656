import type { AdminRole } from './admin-tokens.ts';

/**
 * Every admin route, in one place: which roles may call it, and the event a successful call
 * leaves in the `system` chain. A test derived from the registered routes checks that each route
 * is here (and each entry is a route), every role against every route, and that every mutating
 * route leaves its event; a new route cannot ship without these decisions.
 *
 * `public` routes authenticate their caller themselves (agent runtimes attesting or renewing;
 * published checkpoints). An event `by: 'server'` is written by the server once the handler
 * succeeded, before the answer leaves; `by: 'handler'` is written by the handler itself, inside
 * the change where it can be.
 */
export interface AdminRoute {
  roles: readonly AdminRole[] | 'public';
  event?: { type: string; by: 'server' | 'handler' };
  /** Why a mutating route leaves no event (its change is a record of its own). */
  unaudited?: string;
}

const READ = ['admin', 'auditor'] as const satisfies readonly AdminRole[];
const WRITE = ['admin'] as const satisfies readonly AdminRole[];
const APPROVE = ['admin', 'approver'] as const satisfies readonly AdminRole[];
/** Approvers read the approvals they act on. */
const APPROVALS = ['admin', 'auditor', 'approver'] as const satisfies readonly AdminRole[];

const read: AdminRoute = { roles: READ };
const write = (type: string, by: 'server' | 'handler' = 'server'): AdminRoute => ({ roles: WRITE, event: { type, by } });

export const ADMIN_ROUTES: Readonly<Record<string, AdminRoute>> = {
  'GET /v1/openapi.json': { roles: 'public' },

  'GET /v1/agents': read,
  'GET /v1/agents/:id': read,
  'POST /v1/agents': write('admin.agent_created'),
  'PUT /v1/agents': write('admin.agents_applied'),
  'POST /v1/agents/:id/suspend': write('admin.agent_suspended'),
  'POST /v1/agents/:id/resume': write('admin.agent_resumed'),
  'POST /v1/agents/:id/retire': write('admin.agent_retired'),
  'POST /v1/agents/:id/join-tokens': write('admin.join_token_issued'),

  'POST /v1/instances': { roles: 'public' },
  'POST /v1/instances/:id/token': { roles: 'public' },
  'GET /v1/instances': read,
  'GET /v1/instances/:id': read,
  'POST /v1/instances/:id/revoke': write('admin.instance_revoked'),
  'POST /v1/users/token': write('admin.person_token_issued'),
  'POST /v1/keys/rotate': write('admin.key_rotated'),
  'POST /v1/keys/:kid/revoke': write('identity.key_revoked', 'handler'),

  'POST /v1/authorize': read,
  'POST /v1/policies/explain': read,
  'GET /v1/policies': read,
  'PUT /v1/policies': write('policy.applied', 'handler'),

  'GET /v1/audit/events': read,
  'GET /v1/audit/export': read,
  'GET /v1/audit/checkpoints': { roles: 'public' },
  'GET /v1/audit/checkpoint': { roles: 'public' },
  'POST /v1/audit/checkpoints': { roles: WRITE, unaudited: 'the signed checkpoint it stores is the record (an event would grow the log past it)' },
  'GET /v1/audit/proof/inclusion': read,
  'GET /v1/audit/proof/consistency': read,
  'GET /v1/audit/verify': read,
  'POST /v1/audit/verify': read,
  'POST /v1/audit/digest': { roles: READ, event: { type: 'admin.digest_computed', by: 'handler' } },

  'GET /v1/approvals': { roles: APPROVALS },
  'GET /v1/approvals/:id': { roles: APPROVALS },
  'POST /v1/approvals/:id/approve': { roles: APPROVE, event: { type: 'approval.granted', by: 'handler' } },
  'POST /v1/approvals/:id/deny': { roles: APPROVE, event: { type: 'approval.denied', by: 'handler' } },

  'GET /v1/servers': read,
  'GET /v1/servers/:name': read,
  'POST /v1/servers': write('admin.server_added'),
  'PUT /v1/servers/:name': write('admin.server_changed'),
  'DELETE /v1/servers/:name': write('admin.server_removed'),
  'POST /v1/servers/:name/tools/:tool/approve': write('admin.tool_approved', 'handler'),
  'GET /v1/secrets': read,
  'PUT /v1/secrets/:name': write('admin.secret_set', 'handler'),
  'DELETE /v1/secrets/:name': write('admin.secret_removed'),

  'GET /v1/connections': read,
  'GET /v1/connections/:name': read,
  'POST /v1/connections': write('admin.connection_added', 'handler'),
  'PUT /v1/connections/:name': write('admin.connection_updated', 'handler'),
  'DELETE /v1/connections/:name': write('admin.connection_removed', 'handler'),
  'POST /v1/broker/sweep': write('admin.broker_swept'),

  'GET /v1/sinks': read,
  'GET /v1/sinks/:name': read,
  'POST /v1/sinks': write('admin.sink_added'),
  'DELETE /v1/sinks/:name': write('admin.sink_removed'),
  'POST /v1/sinks/:name/pause': write('admin.sink_paused'),
  'POST /v1/sinks/:name/resume': write('admin.sink_resumed'),
};

/** The rule for a route as fastify names it (`POST /v1/agents/:id/suspend`). */
export const adminRouteOf = (method: string, url: string | undefined): AdminRoute | undefined =>
  url === undefined ? undefined : ADMIN_ROUTES[`${method} ${url}`];

/** Secret values travel in these bodies: their event names the secret, never a digest of the value. */
export const NO_BODY_DIGEST = new Set(['PUT /v1/secrets/:name', 'POST /v1/sinks']);
