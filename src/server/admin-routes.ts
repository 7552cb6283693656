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
  /**
   * What the route acts on, for grants scoped to an environment and for owners (see
   * `src/people/roles.ts`). Unset: configuration shared by every environment, so only unscoped
   * grants other than `owner` pass. `agent`: the agent `:id`; `approval`: the approval `:id`,
   * through its agent (the guard checks both). `listed`: a list the handler narrows to what each
   * grant may see; `own`: the caller's own records, which the handler narrows to; `grants`: role
   * grants the handler checks against the caller's (an `admin:prod` adds prod-scoped operators).
   */
  target?: 'agent' | 'approval' | 'listed' | 'own' | 'grants';
  event?: { type: string; by: 'server' | 'handler' };
  /** Why a mutating route leaves no event (its change is a record of its own). */
  unaudited?: string;
}

/** Reads of configuration and of the trail. */
const READ = ['admin', 'auditor', 'security'] as const satisfies readonly AdminRole[];
const WRITE = ['admin'] as const satisfies readonly AdminRole[];
/** Policies, servers, connections, secrets, keys and governance. */
const SECURITY = ['admin', 'security'] as const satisfies readonly AdminRole[];
const APPROVE = ['admin', 'approver'] as const satisfies readonly AdminRole[];
/** Approvers read the approvals they act on. */
const APPROVALS = ['admin', 'auditor', 'approver'] as const satisfies readonly AdminRole[];
/** Owners see the agents they own. */
const AGENT_READ = ['admin', 'auditor', 'security', 'owner'] as const satisfies readonly AdminRole[];
/** Owners suspend and resume the agents they own; security does so for any. */
const LIFECYCLE = ['admin', 'security', 'owner'] as const satisfies readonly AdminRole[];
/** Every operator manages their own API tokens, within the roles they hold. */
const EVERYONE = ['admin', 'security', 'approver', 'auditor', 'owner'] as const satisfies readonly AdminRole[];

const read: AdminRoute = { roles: READ };
const write = (type: string, by: 'server' | 'handler' = 'server'): AdminRoute => ({ roles: WRITE, event: { type, by } });
const secure = (type: string, by: 'server' | 'handler' = 'server'): AdminRoute => ({ roles: SECURITY, event: { type, by } });

export const ADMIN_ROUTES: Readonly<Record<string, AdminRoute>> = {
  'GET /v1/openapi.json': { roles: 'public' },

  'GET /v1/agents': { roles: AGENT_READ, target: 'listed' },
  'GET /v1/agents/:id': { roles: AGENT_READ, target: 'agent' },
  'POST /v1/agents': write('admin.agent_created'),
  'PUT /v1/agents': write('admin.agents_applied'),
  'POST /v1/agents/:id/suspend': { roles: LIFECYCLE, target: 'agent', event: { type: 'admin.agent_suspended', by: 'server' } },
  'POST /v1/agents/:id/resume': { roles: LIFECYCLE, target: 'agent', event: { type: 'admin.agent_resumed', by: 'server' } },
  'POST /v1/agents/:id/retire': write('admin.agent_retired'),
  'POST /v1/agents/:id/join-tokens': write('admin.join_token_issued'),

  'POST /v1/instances': { roles: 'public' },
  'POST /v1/instances/:id/token': { roles: 'public' },
  'GET /v1/instances': read,
  'GET /v1/instances/:id': read,
  'POST /v1/instances/:id/revoke': secure('admin.instance_revoked'),
  'POST /v1/mandates/:id/revoke': secure('admin.mandate_revoked'),
  'POST /v1/users/token': write('admin.person_token_issued'),
  'POST /v1/keys/rotate': secure('admin.key_rotated'),
  'POST /v1/keys/:kid/revoke': secure('identity.key_revoked', 'handler'),

  'POST /v1/authorize': read,
  'POST /v1/policies/explain': read,
  'POST /v1/mandates/explain-scope': read,
  'GET /v1/policies': read,
  'PUT /v1/policies': secure('policy.applied', 'handler'),

  'GET /v1/audit/events': read,
  'GET /v1/audit/export': read,
  'GET /v1/audit/decisions': read,
  'GET /v1/audit/checkpoints': { roles: 'public' },
  'GET /v1/audit/checkpoint': { roles: 'public' },
  'POST /v1/audit/checkpoints': { roles: WRITE, unaudited: 'the signed checkpoint it stores is the record (an event would grow the log past it)' },
  'GET /v1/audit/proof/inclusion': read,
  'GET /v1/audit/proof/consistency': read,
  'GET /v1/audit/verify': read,
  'POST /v1/audit/verify': read,
  'POST /v1/audit/digest': { roles: READ, event: { type: 'admin.digest_computed', by: 'handler' } },

  'GET /v1/approvals': { roles: APPROVALS, target: 'listed' },
  'GET /v1/approvals/:id': { roles: APPROVALS, target: 'approval' },
  'POST /v1/approvals/:id/approve': { roles: APPROVE, target: 'approval', event: { type: 'approval.granted', by: 'handler' } },
  'POST /v1/approvals/:id/deny': { roles: APPROVE, target: 'approval', event: { type: 'approval.denied', by: 'handler' } },
  // The person the agent acts for, signed in with a person token (approval.granted or approval.denied).
  'POST /v1/approvals/:id/consent': { roles: 'public', event: { type: 'approval.granted', by: 'handler' } },

  'GET /v1/servers': read,
  'GET /v1/servers/:name': read,
  'POST /v1/servers': secure('admin.server_added'),
  'PUT /v1/servers/:name': secure('admin.server_changed'),
  'DELETE /v1/servers/:name': secure('admin.server_removed'),
  'POST /v1/servers/:name/tools/:tool/approve': secure('admin.tool_approved', 'handler'),
  'GET /v1/secrets': read,
  'PUT /v1/secrets/:name': secure('admin.secret_set', 'handler'),
  'DELETE /v1/secrets/:name': secure('admin.secret_removed'),

  'GET /v1/connections': read,
  'GET /v1/connections/:name': read,
  'POST /v1/connections': secure('admin.connection_added', 'handler'),
  'PUT /v1/connections/:name': secure('admin.connection_updated', 'handler'),
  'DELETE /v1/connections/:name': secure('admin.connection_removed', 'handler'),
  'POST /v1/broker/sweep': secure('admin.broker_swept'),

  'GET /v1/peers': read,
  'GET /v1/peers/:name': read,
  'POST /v1/peers': secure('admin.peer_added'),
  'PUT /v1/peers/:name': secure('admin.peer_changed'),
  'DELETE /v1/peers/:name': secure('admin.peer_removed'),

  'GET /v1/operators': read,
  'GET /v1/operators/:subject': read,
  'POST /v1/operators': { ...write('admin.operator_added'), target: 'grants' },
  'DELETE /v1/operators/:subject': { ...write('admin.operator_removed'), target: 'grants' },
  // Single sign-on: the operators' identity provider authenticates the caller.
  'GET /v1/login': { roles: 'public' },
  'GET /v1/login/callback': { roles: 'public', event: { type: 'admin.login_succeeded', by: 'handler' } },
  'POST /v1/login/device': { roles: 'public' },
  'POST /v1/login/device/poll': { roles: 'public', event: { type: 'admin.login_succeeded', by: 'handler' } },
  // The operator console: sign in by pasting a token once (the token authenticates the caller),
  // or through single sign-on (GET /v1/console/login, ending at /v1/login/callback).
  'POST /v1/console/session': { roles: 'public', event: { type: 'admin.console_signed_in', by: 'handler' } },
  'GET /v1/console/login': { roles: 'public' },
  'GET /v1/console/session': { roles: EVERYONE, target: 'own' },
  'DELETE /v1/console/session': { roles: EVERYONE, target: 'own', event: { type: 'admin.console_signed_out', by: 'server' } },
  // Live updates: the handler sends each caller only what its roles may read.
  'GET /v1/stream': { roles: EVERYONE, target: 'listed' },
  'GET /v1/tokens': { roles: EVERYONE, target: 'own' },
  'POST /v1/tokens': { roles: EVERYONE, target: 'own', event: { type: 'admin.token_created', by: 'server' } },
  'DELETE /v1/tokens/:id': { roles: EVERYONE, target: 'own', event: { type: 'admin.token_revoked', by: 'server' } },

  'GET /v1/alerts': read,
  'GET /v1/alerts/rules': read,
  'GET /v1/sinks': read,
  'GET /v1/sinks/:name': read,
  'POST /v1/sinks': secure('admin.sink_added'),
  'DELETE /v1/sinks/:name': secure('admin.sink_removed'),

  'GET /v1/issuers': read,
  'GET /v1/issuers/:issuer': read,
  'POST /v1/issuers': secure('admin.issuer_added'),
  'DELETE /v1/issuers/:issuer': secure('admin.issuer_removed'),
  'POST /v1/sinks/:name/pause': secure('admin.sink_paused'),
  'POST /v1/sinks/:name/resume': secure('admin.sink_resumed'),

  'GET /v1/trail/sinks': read,
  'GET /v1/trail/sinks/:name': read,
  'POST /v1/trail/sinks': secure('admin.trail_sink_added'),
  'DELETE /v1/trail/sinks/:name': secure('admin.trail_sink_removed'),
  'POST /v1/trail/sinks/:name/pause': secure('admin.trail_sink_paused'),
  'POST /v1/trail/sinks/:name/resume': secure('admin.trail_sink_resumed'),

  'GET /v1/entitlements': read,
  'PUT /v1/entitlements': secure('admin.entitlements_applied'),
  'PUT /v1/entitlements/:group': secure('admin.entitlement_set'),
  'DELETE /v1/entitlements/:group': secure('admin.entitlement_removed'),

  // Lifecycle governance: the inventory, owners who leave, clean-up.
  'GET /v1/mandates': { roles: AGENT_READ, target: 'listed' },
  'GET /v1/agents/:id/usage': { roles: AGENT_READ, target: 'agent' },
  'POST /v1/scim/token': write('admin.scim_token_rotated'),
  'GET /v1/persons': read,
  // The handler's own lifecycle.owner_left, orphaned and owner_reassigned events follow the operator's.
  'POST /v1/persons/:id/offboard': secure('admin.person_offboarded'),
  'GET /v1/lifecycle/flags': { roles: AGENT_READ, target: 'listed' },
  // Each revocation, flag, suspension and purge of the run is an event of its own (lifecycle.*).
  'POST /v1/lifecycle/reap': secure('admin.lifecycle_reaped'),
  // Access reviews: security opens and closes campaigns; each owner decides the items of their agents.
  'GET /v1/reviews': { roles: AGENT_READ, target: 'listed' },
  'POST /v1/reviews': secure('admin.review_started'),
  'GET /v1/reviews/:id': { roles: AGENT_READ, target: 'listed' },
  'POST /v1/reviews/:campaign/items/:id/certify': { roles: LIFECYCLE, target: 'agent', event: { type: 'lifecycle.review_certified', by: 'handler' } },
  'POST /v1/reviews/:campaign/items/:id/trim': { roles: LIFECYCLE, target: 'agent', event: { type: 'lifecycle.agent_trimmed', by: 'handler' } },
  'POST /v1/reviews/:id/remind': secure('admin.review_reminded'),
  'POST /v1/reviews/:id/close': secure('lifecycle.review_closed', 'handler'),
  'GET /v1/reviews/:id/report': read,

  // Shadow-agent discovery: one findings queue; security reports, scans, claims and dismisses.
  'GET /v1/findings': read,
  'GET /v1/findings/:id': read,
  'POST /v1/findings': secure('admin.findings_reported'),
  'POST /v1/findings/scan': secure('admin.discovery_ran'),
  'POST /v1/findings/:id/claim': secure('lifecycle.finding_claimed', 'handler'),
  'POST /v1/findings/:id/dismiss': secure('lifecycle.finding_dismissed', 'handler'),

  'GET /v1/reports/hygiene': read,
};

/** The rule for a route as fastify names it (`POST /v1/agents/:id/suspend`). */
export const adminRouteOf = (method: string, url: string | undefined): AdminRoute | undefined =>
  url === undefined ? undefined : ADMIN_ROUTES[`${method} ${url}`];

/** Secret values travel in these bodies: their event names the secret, never a digest of the value. */
export const NO_BODY_DIGEST = new Set(['PUT /v1/secrets/:name', 'POST /v1/sinks', 'POST /v1/trail/sinks', 'POST /v1/console/session']);
