import { z } from 'zod';
import { agentCardSpecSchema } from '../registry/agent-card.ts';

/** OpenAPI 3.1 description of the admin API, with component schemas generated from the zod schemas. */
const jsonSchema = (schema: z.ZodType, io: 'input' | 'output' = 'input') =>
  z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' });

const problemRef = { $ref: '#/components/schemas/Problem' };
const errors = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((s) => [
      String(s),
      { description: 'error', content: { 'application/problem+json': { schema: problemRef } } },
    ]),
  );
const json = (ref: string) => ({
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } },
});
const idParam = [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }];

/** `[METHOD path summary]` rows, merged by path: the routes documented in one line each. */
const operations = (rows: ReadonlyArray<readonly [string, string, string]>) => {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [method, path, summary] of rows) {
    (paths[path] ??= {})[method] = { summary, responses: { '200': { description: 'success' }, ...errors(400, 401, 403, 404) } };
  }
  return paths;
};

export function openApiDocument(version: string) {
  const lifecycle = (action: string) => ({
    post: {
      summary: `${action[0]!.toUpperCase()}${action.slice(1)} an agent`,
      parameters: idParam,
      responses: { '200': { description: 'the agent', ...json('AgentCard') }, ...errors(401, 403, 404, 409) },
    },
  });
  return {
    openapi: '3.1.0',
    info: { title: 'Mandate admin API', version },
    components: {
      securitySchemes: {
        adminToken: { type: 'http', scheme: 'bearer', description: 'mdt_… operator API token' },
        consoleSession: { type: 'apiKey', in: 'cookie', name: 'mandate_session', description: 'Console session (POST /v1/console/session); mutations also need the X-CSRF-Token header' },
      },
      schemas: {
        AgentCardSpec: jsonSchema(agentCardSpecSchema),
        AgentCard: {
          allOf: [
            jsonSchema(agentCardSpecSchema, 'output'),
            {
              type: 'object',
              properties: {
                status: { enum: ['active', 'suspended', 'retired', 'draft'] },
                created_at: { type: 'string', format: 'date-time' },
                updated_at: { type: 'string', format: 'date-time' },
                flags: { type: 'array', items: { type: 'string' } },
              },
            },
          ],
        },
        Problem: {
          type: 'object',
          description: 'RFC 9457 problem details',
          required: ['type', 'title', 'status', 'detail', 'code'],
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            code: { type: 'string' },
            errors: {
              type: 'array',
              items: {
                type: 'object',
                properties: { path: { type: 'string' }, message: { type: 'string' } },
              },
            },
          },
        },
      },
    },
    security: [{ adminToken: [] }, { consoleSession: [] }],
    paths: {
      '/v1/agents': {
        get: {
          summary: 'List agent cards',
          parameters: ['status', 'owner', 'environment'].map((name) => ({
            name,
            in: 'query',
            schema: { type: 'string' },
          })),
          responses: { '200': { description: 'agents' }, ...errors(400, 401, 403) },
        },
        post: {
          summary: 'Register an agent card',
          requestBody: { required: true, ...json('AgentCardSpec') },
          responses: {
            '201': { description: 'registered', ...json('AgentCard') },
            ...errors(400, 401, 403, 409, 413),
          },
        },
        put: {
          summary: 'Apply agent cards (idempotent upsert, all or nothing); JSON or YAML',
          requestBody: { required: true, content: { 'application/json': {}, 'application/yaml': {} } },
          responses: { '200': { description: 'outcome per agent' }, ...errors(400, 401, 403, 409, 413) },
        },
      },
      '/v1/agents/{id}': {
        get: {
          summary: 'Show an agent card',
          parameters: idParam,
          responses: { '200': { description: 'the agent', ...json('AgentCard') }, ...errors(401, 403, 404) },
        },
      },
      '/v1/agents/{id}/suspend': lifecycle('suspend'),
      '/v1/agents/{id}/resume': lifecycle('resume'),
      '/v1/agents/{id}/retire': lifecycle('retire'),
      ...operations([
        ['post', '/v1/agents/{id}/join-tokens', 'Create a one-time join token for an instance of the agent'],
        ['post', '/v1/instances', 'Attest an instance (manifest JWS signed by the instance key; no admin token)'],
        ['post', '/v1/instances/{id}/token', 'Renew an identity token with a DPoP proof from the instance key'],
        ['post', '/v1/instances/{id}/revoke', 'Revoke an instance and every mandate derived from it'],
        ['post', '/v1/users/token', 'Person token from the development issuer'],
        ['post', '/v1/keys/rotate', 'Rotate the signing key'],
        ['post', '/v1/keys/{kid}/revoke', 'Withdraw a signing key at once: unpublished, its tokens refused on every replica, its mandates revoked, a fresh key if it was signing'],
        ['post', '/v1/authorize', 'Decide an AuthZEN-style request with the running Cedar policies'],
        ['put', '/v1/policies', 'Replace the running policy set on every replica (validated as a whole first)'],
        ['post', '/v1/policies/explain', 'Explain a decision'],
        ['post', '/v1/mandates/explain-scope', "Explain which of request, agent card and person's entitlements limit a mandate's scope"],
        ['post', '/v1/servers', 'Register an upstream MCP server'],
        ['post', '/v1/servers/{name}/tools/{tool}/approve', "Approve a quarantined tool's new definition"],
        ['put', '/v1/secrets/{name}', 'Store a secret (sealed; never returned)'],
        ['post', '/v1/connections', 'Register an HTTP or PostgreSQL connection behind the broker'],
        ['get', '/v1/approvals', 'List held calls'],
        ['post', '/v1/approvals/{id}/approve', 'Approve a held call (single use, bound to that call)'],
        ['post', '/v1/approvals/{id}/deny', 'Deny a held call'],
        ['post', '/v1/approvals/{id}/consent', 'The person the agent acts for approves or denies their own consent-marked call (person token; public)'],
        ['get', '/v1/audit/events', 'Query the audit trail (cursor pagination)'],
        ['get', '/v1/audit/decisions', 'Decisions per minute since a time (default 15m): allowed, and refused by error code'],
        ['post', '/v1/mandates/{id}/revoke', 'Revoke a mandate by id and every mandate derived from it, on every replica'],
        ['get', '/v1/stream', 'Server-sent events: audit events as appended (readers of the trail) and pending approvals (approvers)'],
        ['get', '/v1/audit/export', 'Stream the trail as JSON lines, OCSF or CEF'],
        ['get', '/v1/audit/verify', 'Verify every chain and the Merkle tree against the signed checkpoints'],
        ['get', '/v1/audit/checkpoints', 'Signed checkpoints and the verifier key (public)'],
        ['get', '/v1/audit/proof/inclusion', 'RFC 9162 inclusion proof'],
        ['get', '/v1/audit/proof/consistency', 'RFC 9162 consistency proof'],
        ['post', '/v1/audit/digest', 'HMAC of a known value, to search the trail for it'],
        ['post', '/oauth/token', 'RFC 8693 token exchange with DPoP (form-encoded; OAuth errors)'],
        ['post', '/oauth/introspect', 'RFC 7662 introspection (admin bearer)'],
        ['post', '/oauth/revoke', 'RFC 7009 revocation with cascade (admin bearer)'],
        ['post', '/mcp/{server}', 'MCP Streamable HTTP gateway (Authorization: DPoP + DPoP proof)'],
        ['post', '/broker/{connection}/{path}', 'Credential broker (any method; Authorization: DPoP + DPoP proof)'],
        ['post', '/a2a/{peer}', 'A2A JSON-RPC through Mandate: each method decided by policy, streams over SSE (Authorization: DPoP + DPoP proof)'],
        ['get', '/a2a/{peer}/.well-known/agent-card.json', "The peer's agent card, published with Mandate as its endpoint and authorization server (public)"],
                ['get', '/v1/instances', 'List instances (optionally of one agent; activity=true adds each one\'s last activity from the trail)'],
        ['get', '/v1/instances/{id}', 'Show an instance'],
        ['get', '/v1/policies', 'The running policy set: version, policy ids, optionally its files'],
        ['get', '/v1/servers', 'List upstream MCP servers'],
        ['get', '/v1/servers/{name}', 'Show an upstream MCP server with its pinned tools'],
        ['put', '/v1/servers/{name}', 'Replace an upstream MCP server'],
        ['delete', '/v1/servers/{name}', 'Remove an upstream MCP server'],
        ['get', '/v1/secrets', 'List secret names and metadata (never values)'],
        ['delete', '/v1/secrets/{name}', 'Delete a secret'],
        ['get', '/v1/connections', 'List broker connections'],
        ['get', '/v1/connections/{name}', 'Show a connection (and, for a database, its live roles)'],
        ['put', '/v1/connections/{name}', 'Replace a connection'],
        ['delete', '/v1/connections/{name}', 'Remove a connection (and drop its database roles)'],
        ['post', '/v1/broker/sweep', 'Drop database roles of ended mandates now'],
        ['get', '/v1/peers', 'List A2A peers'],
        ['post', '/v1/peers', 'Register an A2A peer (its endpoint, agent card and the agent it runs as) behind /a2a/{name}'],
        ['get', '/v1/peers/{name}', 'Show an A2A peer'],
        ['put', '/v1/peers/{name}', 'Replace an A2A peer'],
        ['delete', '/v1/peers/{name}', 'Remove an A2A peer'],
        ['get', '/v1/approvals/{id}', 'Show a held call'],
        ['get', '/v1/audit/checkpoint', 'The latest signed checkpoint as C2SP tlog-checkpoint text (public)'],
        ['post', '/v1/audit/checkpoints', 'Sign a checkpoint now'],
        ['post', '/v1/audit/verify', 'Verify the trail against checkpoints the caller saved earlier'],
        ['get', '/v1/operators', 'List operators (persons with roles)'],
        ['post', '/v1/operators', 'Add an operator: subject, email, name, roles (role or role:environment), none beyond the caller\'s'],
        ['get', '/v1/operators/{subject}', 'Show an operator'],
        ['delete', '/v1/operators/{subject}', 'Remove an operator and revoke their API tokens'],
        ['get', '/v1/tokens', 'List API tokens (never their secrets): all for an admin or auditor, else the caller\'s own'],
        ['post', '/v1/tokens', 'Create an API token (shown once) with roles, a lifetime and optionally for an operator'],
        ['delete', '/v1/tokens/{id}', 'Revoke an API token'],
        ['get', '/v1/sinks', 'List notification sinks with their lag and last error (never their signing key)'],
        ['post', '/v1/sinks', 'Add a signed webhook sink (json or slack); the key is sealed or names a stored secret'],
        ['get', '/v1/sinks/{name}', 'Show a notification sink'],
        ['delete', '/v1/sinks/{name}', 'Remove a notification sink'],
        ['post', '/v1/sinks/{name}/pause', 'Pause delivery to a sink (events wait in the trail)'],
        ['post', '/v1/sinks/{name}/resume', 'Resume delivery to a sink from where it stopped'],
        ['get', '/v1/trail/sinks', 'List trail sinks (syslog, webhook, Splunk HEC, NATS JetStream, OTLP logs) with their lag and last error (never their secret)'],
        ['post', '/v1/trail/sinks', 'Add a trail sink: kind, format (jsonl, ocsf, cef), filter (events, environments), from (now or start), settings; the secret is sealed'],
        ['get', '/v1/trail/sinks/{name}', 'Show a trail sink and its delivery state'],
        ['delete', '/v1/trail/sinks/{name}', 'Remove a trail sink (its cursor goes with it)'],
        ['post', '/v1/trail/sinks/{name}/pause', 'Pause streaming to a trail sink (events wait in the trail)'],
        ['post', '/v1/trail/sinks/{name}/resume', 'Resume streaming to a trail sink from where it stopped'],
        ['get', '/v1/alerts', 'Alerts raised, newest first (alert.raised events of the trail; rule, limit, cursor)'],
        ['get', '/v1/alerts/rules', 'The alert rules in force (alerts.yaml in the data directory over the defaults)'],
        ['get', '/v1/issuers', 'List OIDC issuers trusted for person tokens'],
        ['post', '/v1/issuers', 'Trust an issuer: discovery, a JWKS URI or inline JWKS; audiences, algorithms, claim mapping, allow_loopback'],
        ['get', '/v1/issuers/{issuer}', 'Show a trusted issuer (the issuer URL percent-encoded)'],
        ['delete', '/v1/issuers/{issuer}', 'Stop trusting an issuer'],
        ['get', '/v1/entitlements', "List every group's entitlements (scope items), and whether any are configured"],
        ['put', '/v1/entitlements', "Replace every group's entitlements with the body's, all or nothing"],
        ['put', '/v1/entitlements/{group}', "Set a group's entitlements: the scope items its members' agents may be granted"],
        ['delete', '/v1/entitlements/{group}', "Remove a group's entitlements"],
        ['get', '/v1/mandates', 'Inventory of mandates, newest first: filters agent, instance, person, state (live|ended|all); delegation children, scope, budget left, expiry; keyset paging (limit, cursor)'],
        ['post', '/v1/scim/token', 'Create the SCIM bearer token for the identity provider (shown once; stored as a digest; replaces the previous one)'],
        ['get', '/v1/persons', 'Persons provisioned over SCIM: userName, email, manager, active, when they left'],
        ['post', '/v1/persons/{id}/offboard', "Offboard a person or operator: their agents are flagged orphaned, handed to their manager or the sponsor (or reassign_to), else suspended after the grace period"],
        ['get', '/scim/v2/ServiceProviderConfig', 'SCIM 2.0 (RFC 7643 §5): what this endpoint supports (SCIM bearer token)'],
        ['post', '/scim/v2/Users', 'SCIM 2.0 (RFC 7644): provision a User (application/scim+json; SCIM bearer token)'],
        ['get', '/scim/v2/Users', 'SCIM 2.0: list Users (filter userName eq "…" or externalId eq "…", startIndex, count)'],
        ['get', '/scim/v2/Users/{id}', 'SCIM 2.0: read a User'],
        ['put', '/scim/v2/Users/{id}', 'SCIM 2.0: replace a User (active false offboards the person)'],
        ['patch', '/scim/v2/Users/{id}', 'SCIM 2.0: PatchOp on a User (Okta and Entra deactivation, manager)'],
        ['delete', '/scim/v2/Users/{id}', 'SCIM 2.0: delete a User (offboards the person)'],
        ['get', '/v1/lifecycle/flags', 'Lifecycle flags on agents (orphaned: owner left; stale: unused), with when their suspension is due'],
        ['post', '/v1/lifecycle/reap', 'Clean up now (dry_run: report only): revoke idle instances, flag or suspend unused agents, suspend orphans past grace, purge expired join and operator tokens'],
        ['get', '/v1/agents/{id}/usage', 'Toolset items granted vs used (from the trail) over a window (window=30d), and the instances with their last activity'],
        ['get', '/v1/reviews', 'List access review campaigns with their counts (status: open or closed)'],
        ['post', '/v1/reviews', 'Start an access review campaign: environment, due (14d), action (suspend or trim), unused_days; one item per agent, its owner told'],
        ['get', '/v1/reviews/{id}', 'Show a campaign and the items the caller may see, with least-privilege suggestions'],
        ['post', '/v1/reviews/{campaign}/items/{id}/certify', "The owner certifies the agent's rights as they are"],
        ['post', '/v1/reviews/{campaign}/items/{id}/trim', "The owner removes toolset items, roles or delegation rights: the agent card changes at once"],
        ['post', '/v1/reviews/{id}/remind', 'Remind the owners of pending items now (through the notification sinks)'],
        ['post', '/v1/reviews/{id}/close', 'Close a campaign: undecided items get its action; the outcome is signed'],
        ['get', '/v1/reviews/{id}/report', "The closed campaign's report, signed (Ed25519, the audit checkpoint key)"],
        ['get', '/v1/findings', 'List discovery findings (status: open, claimed, dismissed; scanner)'],
        ['get', '/v1/findings/{id}', 'Show a finding (a credential appears only as a keyed fingerprint and a hint)'],
        ['post', '/v1/findings', 'Report findings of scanners that run where the files are (mandate discover): MCP client configs'],
        ['post', '/v1/findings/scan', "Run the server's scanners: PostgreSQL logins not created by Mandate, clients refused without a valid mandate"],
        ['post', '/v1/findings/{id}/claim', 'Claim a finding: a draft agent card with an owner (no instance until resumed)'],
        ['post', '/v1/findings/{id}/dismiss', 'Dismiss a finding with a reason'],
        ['get', '/v1/reports/hygiene', 'Hygiene report (format: json, csv, html): agents without owner, orphaned, stale, over-privileged; old secrets and signing keys; open findings; overdue reviews; counts and trend'],
      ]),
      '/v1/openapi.json': {
        get: { summary: 'This document', security: [], responses: { '200': { description: 'OpenAPI 3.1' } } },
      },
      '/v1/login': {
        get: {
          summary: "Operator single sign-on: redirect (303) to the operators' OpenID provider (code flow, PKCE, state, nonce); return_to: a CLI's loopback listener",
          security: [],
          responses: { '303': { description: 'to the provider' }, '404': { description: 'ERR_SSO_NOT_CONFIGURED' }, '503': { description: 'ERR_IDP_UNAVAILABLE' } },
        },
      },
      '/v1/console/session': {
        ...operations([
          ['get', '/v1/console/session', 'The signed-in operator, roles and CSRF token of this console session'],
          ['delete', '/v1/console/session', 'Sign out: the console session ends on the server'],
        ])['/v1/console/session'],
        post: {
          summary: 'Console sign-in with an operator token pasted once: answers the session cookie (HttpOnly, SameSite=Strict) and its CSRF token; the token is not kept by the browser',
          security: [],
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['token'], properties: { token: { type: 'string' } } } } } },
          responses: { '201': { description: 'operator, roles, csrf_token, expires_at; Set-Cookie' }, ...errors(400, 401, 403, 429) },
        },
      },
      '/v1/console/login': {
        get: {
          summary: "Console single sign-on: redirect (303) to the operators' OpenID provider; the callback ends in a console session cookie and a redirect to /console/",
          security: [],
          responses: { '303': { description: 'to the provider' }, '404': { description: 'ERR_SSO_NOT_CONFIGURED' } },
        },
      },
      '/v1/login/callback': {
        get: {
          summary: 'The provider returns here: the operator is created or refreshed from its groups and gets a short-lived session token (JSON, or 303 to the loopback return_to)',
          security: [],
          responses: { '200': { description: 'the session token (shown once)' }, '303': { description: 'to return_to with the token or the error' }, '400': { description: 'ERR_LOGIN_STATE_INVALID' }, '401': { description: 'ERR_LOGIN_FAILED, ERR_LOGIN_ID_TOKEN_INVALID' }, '403': { description: 'ERR_LOGIN_NO_ROLE' } },
        },
      },
      '/v1/login/device': {
        post: {
          summary: 'Operator sign-in on a device without a browser (RFC 8628): the user code, the verification URI and an opaque poll handle',
          security: [],
          responses: { '200': { description: 'user_code, verification_uri(_complete), interval, expires_in, handle' }, '400': { description: 'ERR_DEVICE_FLOW_UNSUPPORTED' }, '429': { description: 'ERR_LOGIN_RATE_LIMITED' }, '503': { description: 'ERR_IDP_UNAVAILABLE' } },
        },
      },
      '/v1/login/device/poll': {
        post: {
          summary: 'Poll a device sign-in: 202 while the person has not finished, then the short-lived session token (once)',
          security: [],
          responses: { '200': { description: 'the session token (shown once)' }, '202': { description: 'authorization_pending, with the interval' }, '400': { description: 'ERR_DEVICE_CODE_EXPIRED, ERR_LOGIN_STATE_INVALID' }, '401': { description: 'ERR_LOGIN_FAILED' }, '403': { description: 'ERR_LOGIN_NO_ROLE' }, '429': { description: 'ERR_LOGIN_RATE_LIMITED' } },
        },
      },
      '/healthz': {
        get: { summary: 'Liveness', security: [], responses: { '200': { description: 'alive' } } },
      },
      '/readyz': {
        get: {
          summary: 'Readiness: the store answers and the replica is synchronized with the others; status degraded (still 200) names failing trail sinks',
          security: [],
          responses: { '200': { description: 'ready' }, '503': { description: 'ERR_STORE_UNAVAILABLE or ERR_NOT_SYNCHRONIZED' } },
        },
      },
      '/metrics': {
        get: { summary: 'Prometheus metrics', security: [], responses: { '200': { description: 'text' } } },
      },
      '/.well-known/jwks.json': {
        get: { summary: 'Signing keys (JWKS)', security: [], responses: { '200': { description: 'JWKS' } } },
      },
    },
  };
}
