// RFC 6749 §5.2, RFC 6750 §3.1, RFC 8693 §2.2.2, RFC 9449 §7.1/§8/§9, RFC 9457, JSON-RPC 2.0 §5.1 —
// the one catalogue of Mandate's error codes.

/** The `error` values Mandate's OAuth endpoints and resource servers answer with (RFC 6749 §5.2, RFC 6750 §3.1, RFC 9449). */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'invalid_authorization_details'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'temporarily_unavailable'
  | 'server_error';

export interface WireError {
  error: OAuthErrorCode;
  status: number;
}

/** Where an OAuth error is answered: the token endpoint or a protected resource (gateway, broker). */
export type OAuthSurface = 'token_endpoint' | 'resource';
export type OAuthMapping = Readonly<Record<OAuthSurface, WireError>>;

/** JSON-RPC 2.0 §5.1 codes, and the implementation-defined ones Mandate uses on MCP endpoints. */
export const JSONRPC = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
  /** A refusal by Mandate at the MCP endpoint (server-defined range, JSON-RPC §5.1). */
  refused: -32000,
  /** The request's mandate or DPoP proof was not accepted (the HTTP answer is 401 with a DPoP challenge). */
  unauthorized: -32001,
  /** The MCP session is unknown here (the MCP SDK's convention). */
  sessionNotFound: -32001,
} as const;

export interface CatalogueEntry {
  /** HTTP status on the admin API and the default at enforcement points. */
  readonly status: number;
  /** One line: what happened, as the caller should read it. */
  readonly meaning: string;
  /** The RFC 6749 wire error per surface, where the code is answered on an OAuth endpoint or a protected resource. */
  readonly oauth?: OAuthMapping;
  /** The JSON-RPC error code on MCP endpoints, where it differs from the default (-32000). */
  readonly jsonrpc?: number;
}

const at = (tokenEndpoint: WireError, resource: WireError): OAuthMapping => ({ token_endpoint: tokenEndpoint, resource });
const only = (error: OAuthErrorCode, status = 400): OAuthMapping => at({ error, status }, { error, status });
// RFC 9449 §5 / §7.1: 400 at the token endpoint, 401 with WWW-Authenticate at a resource.
const dpopProof = at({ error: 'invalid_dpop_proof', status: 400 }, { error: 'invalid_dpop_proof', status: 401 });
const dpopNonce = at({ error: 'use_dpop_nonce', status: 400 }, { error: 'use_dpop_nonce', status: 401 });
// RFC 8693 §2.2.2: an invalid subject_token or actor_token is `invalid_request` at the token endpoint.
const token = at({ error: 'invalid_request', status: 400 }, { error: 'invalid_token', status: 401 });
// RFC 6750 §3.1: a resource answers 403 insufficient_scope.
const scope = at({ error: 'invalid_scope', status: 400 }, { error: 'insufficient_scope', status: 403 });
/**
 * The contract for policy refusals in token exchange. RFC 8693 §2.2.2: a subject_token or
 * actor_token "unacceptable based on policy" MUST be answered `invalid_request`. So every refusal
 * of who acts for whom (on-behalf-of mode, delegation not allowed or too deep, actor instance or
 * agent not active, parent mandate revoked, no lifetime left) is `invalid_request`, never
 * `invalid_grant`; only what was asked for has its own error: `invalid_scope` (RFC 6749 §5.2) for
 * a scope beyond the toolset or the parent, `invalid_target` (RFC 8693 §2.2.2) for a resource.
 */
const policyRefusal = only('invalid_request');

const e = (status: number, meaning: string, more: Omit<CatalogueEntry, 'status' | 'meaning'> = {}): CatalogueEntry => ({ status, meaning, ...more });
const dpop = (meaning: string) => e(400, meaning, { oauth: dpopProof, jsonrpc: JSONRPC.unauthorized });
const tok = (meaning: string) => e(401, meaning, { oauth: token, jsonrpc: JSONRPC.unauthorized });

/**
 * Every code Mandate answers with. `ErrorCode` is derived from it, so only catalogued codes
 * compile; `docs/errors.md` is generated from it (`npm run docs:errors`).
 */
export const CATALOGUE = {
  // Requests and bodies
  ERR_VALIDATION: e(400, 'A field of the request is missing or invalid; `errors` names each one.'),
  ERR_BAD_REQUEST: e(400, 'The request could not be read.', { jsonrpc: JSONRPC.invalidRequest }),
  ERR_MALFORMED_JSON: e(400, 'The body is not valid JSON.', { jsonrpc: JSONRPC.parseError }),
  ERR_MALFORMED_YAML: e(400, 'The body is not valid YAML.'),
  ERR_JSON_TOO_DEEP: e(400, 'The JSON or YAML body nests deeper than 256 levels; it is refused before anything parses it.', { jsonrpc: JSONRPC.parseError }),
  ERR_JSONRPC_INVALID_REQUEST: e(400, 'The body is JSON but not a JSON-RPC 2.0 message (no method) or an empty batch.', { jsonrpc: JSONRPC.invalidRequest }),
  ERR_BODY_TOO_LARGE: e(413, 'The request body exceeds the size limit.'),
  ERR_BODY_EMPTY: e(400, 'The request body is empty.'),
  ERR_BODY_LENGTH: e(400, 'The Content-Length header is invalid.'),
  ERR_BODY_INCOMPLETE: e(400, 'The request body ended before its declared length.'),
  ERR_MEDIA_TYPE: e(415, 'The content type is not supported here.'),
  ERR_NOT_FOUND: e(404, 'No route answers this method and path.'),
  ERR_IDENTIFIER_NOT_CANONICAL: e(400, 'A name a decision is about holds control or invisible characters, surrounding whitespace, or is not in Unicode NFC.', { jsonrpc: JSONRPC.invalidParams }),
  ERR_INTERNAL: e(500, 'Mandate failed unexpectedly; nothing was decided or forwarded. The server log has the cause.', { jsonrpc: JSONRPC.internalError }),

  // Admin authentication
  ERR_UNAUTHENTICATED: e(401, 'The admin API needs a valid bearer token.'),
  ERR_FORBIDDEN: e(403, "The caller's role does not allow this operation."),
  // RFC 6585 §4: too many failed requests from this client address (with Retry-After).
  ERR_TOO_MANY_FAILURES: e(429, 'Too many failed attempts from this client address; retry after Retry-After seconds.', { oauth: only('invalid_request', 429) }),

  // Operators and their API tokens
  ERR_CSRF_REJECTED: e(403, 'A change made with a console session cookie did not carry the session\'s X-CSRF-Token, or came from another origin.'),
  ERR_CONSOLE_TOKEN_INVALID: e(401, 'The operator token pasted into the console is not a valid, live operator API token.'),
  ERR_MANDATE_NOT_FOUND: e(404, 'No mandate was issued with this id.'),
  ERR_OPERATOR_NOT_FOUND: e(404, 'No operator has this subject.'),
  ERR_ENTITLEMENT_NOT_FOUND: e(404, 'No group has entitlements under this name.'),
  ERR_OPERATOR_EXISTS: e(409, 'An operator with this subject or email exists already.'),
  ERR_ROLE_NOT_HELD: e(403, 'Nobody grants a role they do not hold: the caller, or the operator the token is for, lacks a role or environment asked for.'),
  ERR_TOKEN_FOR_OTHER: e(403, 'Only an admin creates API tokens for another operator.'),
  ERR_TOKEN_OUTLIVES_CALLER: e(403, 'A token cannot be made to outlive the token that creates it (unless that one is an unscoped admin).'),
  ERR_ADMIN_TOKEN_NOT_FOUND: e(404, 'No API token with this id is visible to the caller.'),
  ERR_LAST_ADMIN: e(409, 'The change would leave no live token with the unscoped admin role.'),
  // RFC 6749 §5.2: the authenticated caller may not use this endpoint.
  ERR_REVOKE_NOT_ALLOWED: e(403, 'Only an unscoped admin or security operator revokes mandates (RFC 7009).', { oauth: only('unauthorized_client') }),

  // Operator single sign-on (OIDC)
  ERR_SSO_NOT_CONFIGURED: e(404, 'Single sign-on is not configured (MANDATE_SSO_ISSUER, MANDATE_SSO_CLIENT_ID, MANDATE_SSO_ROLE_MAP).'),
  ERR_IDP_UNAVAILABLE: e(503, "The operators' identity provider could not be reached; nobody was signed in."),
  ERR_LOGIN_STATE_INVALID: e(400, 'The login `state` is unknown, expired, or was used already; start again with GET /v1/login.'),
  ERR_LOGIN_RETURN_TO: e(400, 'A login may return only to a loopback address (http://127.0.0.1:<port>/… or http://localhost:<port>/…).'),
  ERR_LOGIN_FAILED: e(401, 'The identity provider refused the login or the authorization code; nobody was signed in.'),
  ERR_LOGIN_ID_TOKEN_INVALID: e(401, 'The ID token failed validation (issuer, audience, nonce, signature or lifetime); nobody was signed in.'),
  ERR_LOGIN_NO_ROLE: e(403, 'None of the groups the identity provider names maps to a Mandate role (MANDATE_SSO_ROLE_MAP); nothing was granted.'),
  ERR_DEVICE_FLOW_UNSUPPORTED: e(400, 'The identity provider offers no device authorization endpoint (RFC 8628); sign in with the loopback redirect instead.'),
  ERR_DEVICE_CODE_EXPIRED: e(400, 'The device code expired before the sign-in finished; nothing was granted; start again.'),
  ERR_LOGIN_RATE_LIMITED: e(429, 'Too many login requests from this client address; retry after Retry-After seconds.'),
  ERR_LOGIN_OPERATOR_CONFLICT: e(409, 'The signed-in email belongs to another operator subject; nothing was granted.'),

  // Storage and replicas
  ERR_STORE_UNAVAILABLE: e(503, 'The database is not reachable; nothing was decided or forwarded.', { oauth: only('temporarily_unavailable', 503) }),
  ERR_STORE_CONFIG: e(500, 'The storage configuration is invalid.'),
  ERR_STORE_MIGRATION: e(500, 'The database schema could not be migrated.'),
  ERR_NOT_SYNCHRONIZED: e(503, 'This replica is resynchronizing with the database; retry shortly.', { oauth: only('temporarily_unavailable', 503) }),

  // Keys and sealed data
  ERR_MASTER_KEY: e(500, 'The master key is missing, unreadable or of the wrong size.'),
  ERR_SEALED_FORMAT: e(500, 'A sealed value is not in the sealed format.'),
  ERR_SEALED_KEY: e(500, 'A sealed value was sealed under another master key.'),
  ERR_SEALED_INTEGRITY: e(500, 'A sealed value failed its integrity check.'),
  ERR_NO_SIGNING_KEY: e(503, 'The control plane holds no usable signing key.'),

  // Agent registry
  ERR_AGENT_NOT_FOUND: e(404, 'No agent card has this id.'),
  ERR_AGENT_EXISTS: e(409, 'An agent card with this id exists already.'),
  ERR_AGENT_DUPLICATE: e(409, 'The same agent id appears twice in the input.'),
  ERR_AGENT_RETIRED: e(409, 'The agent is retired; its id is never reused.'),
  ERR_AGENT_STATE: e(409, "The agent's lifecycle status does not allow this change."),
  ERR_OWNER_REQUIRED: e(400, 'A prod agent must name its owner.'),

  // Instances and attestation
  ERR_JOIN_TOKEN: e(401, 'The join token is unknown, spent, expired or for another agent.'),
  ERR_MANIFEST_INVALID: e(400, 'The attestation manifest is malformed.'),
  ERR_MANIFEST_SIGNATURE: e(400, 'The attestation manifest is not signed by the key it presents.'),
  ERR_ATTESTATION_AGENT: e(403, 'The agent is not active, so no instance may attest.'),
  ERR_ATTESTATION_ENVIRONMENT: e(403, "The manifest's environment does not match the agent card."),
  ERR_ATTESTATION_CODE_HASH: e(403, "The manifest's code hash is not allowed by the agent card."),
  ERR_ATTESTATION_MODEL: e(403, "The manifest's model does not match the agent card."),
  ERR_ATTESTATION_VERSION: e(403, "The manifest's version does not match the agent card."),
  ERR_ATTESTATION_TOOLSET_HASH: e(403, "The manifest's toolset hash does not match the agent card's toolset."),
  ERR_ATTESTATION_CONFIG_HASH: e(403, "The manifest's config hash is not allowed by the agent card."),
  ERR_ATTESTATION_KEY_REUSED: e(409, 'The instance key is already bound to another instance.'),
  ERR_INSTANCE_NOT_FOUND: e(404, 'No instance has this id.'),
  ERR_INSTANCE_SUSPENDED: e(403, 'The instance or its agent is suspended; its calls are refused.'),
  ERR_AGENT_SUSPENDED: tok('The agent is suspended: its mandates are revoked until a person resumes it (a new mandate will not do).'),
  ERR_RENEWAL_REFUSED: e(401, 'Identity renewal needs a DPoP proof from an active instance key.'),
  ERR_DEV_ISSUER_OFF: e(409, 'The development person issuer is switched off.'),
  ERR_DEV_ISSUER_PROD: e(400, 'A person token from the development issuer is not accepted for an agent in prod (MANDATE_DEV_ISSUER_PROD allows it).', { oauth: policyRefusal }),

  // Tokens (RFC 7515/7519/8725) and DPoP (RFC 9449)
  ERR_TOKEN_MISSING: tok('A mandate is required (Authorization: DPoP).'),
  ERR_TOKEN_INVALID: tok('The presented token is not a usable mandate.'),
  ERR_TOKEN_MALFORMED: tok('The token is not a well-formed compact JWS/JWT.'),
  ERR_TOKEN_TOO_LARGE: tok('The token exceeds the size limit.'),
  ERR_TOKEN_DUPLICATE_MEMBER: tok('The token header or claims repeat a member name.'),
  ERR_TOKEN_ALG: tok('The token is not signed with an accepted algorithm (EdDSA for Mandate tokens).'),
  ERR_TOKEN_TYP: tok('The token has the wrong `typ` for where it was presented.'),
  ERR_TOKEN_KID: tok('The token `kid` names no key Mandate publishes.'),
  ERR_TOKEN_KEY_TYPE: e(500, 'A verification key is not of the expected type.'),
  ERR_TOKEN_CRIT: tok('The token header lists a `crit` extension Mandate does not understand.'),
  ERR_TOKEN_HEADER: tok('The token header carries a member that is refused (jku, x5u, jwk, x5c).'),
  ERR_TOKEN_SIGNATURE: tok('The token signature does not verify.'),
  ERR_TOKEN_EXPIRED: tok('The token has expired.'),
  ERR_TOKEN_NOT_YET_VALID: tok('The token is not valid yet.'),
  ERR_TOKEN_AUDIENCE: tok('The token is not meant for this resource.'),
  ERR_TOKEN_ISSUER: tok('The token was issued by an issuer that is not trusted here.'),
  ERR_TOKEN_REVOKED: tok('The mandate was revoked.'),
  ERR_TOKEN_KEY_REVOKED: tok('The token was signed by a signing key that has been withdrawn.'),
  ERR_KEY_NOT_FOUND: e(404, 'No signing key has this kid.'),
  ERR_KEY_ALREADY_REVOKED: e(409, 'The signing key was withdrawn already.'),
  ERR_JWK_INVALID: e(400, 'The JWK is not a valid public key.'),
  ERR_JWT_INVALID: tok('A token from a trusted issuer did not verify.'),
  ERR_DPOP_INVALID: dpop('The DPoP proof is missing or malformed.'),
  ERR_DPOP_REPLAY: dpop('The DPoP proof was used before (its jti was seen).'),
  ERR_DPOP_HTM: dpop("The DPoP proof's htm does not match the request method."),
  ERR_DPOP_HTU: dpop("The DPoP proof's htu does not match the request URL."),
  ERR_DPOP_IAT: dpop("The DPoP proof's iat is outside the accepted window."),
  ERR_DPOP_ATH: dpop("The DPoP proof's ath does not match the access token."),
  ERR_DPOP_KEY_MISMATCH: dpop("The DPoP proof is not signed by the token's bound key (cnf.jkt)."),
  ERR_DPOP_NONCE: e(400, 'The server requires a DPoP nonce: retry with the nonce from the DPoP-Nonce header.', { oauth: dpopNonce, jsonrpc: JSONRPC.unauthorized }),
  ERR_DPOP_REPLAY_CACHE_FULL: e(503, 'The DPoP replay cache is full; retry shortly.', { oauth: only('temporarily_unavailable', 503) }),

  // Token exchange (RFC 8693)
  ERR_EXCHANGE_REQUEST: e(400, 'The token exchange request is malformed.', { oauth: only('invalid_request') }),
  ERR_GRANT_TYPE_UNSUPPORTED: e(400, 'The grant type is not supported.', { oauth: only('unsupported_grant_type') }),
  ERR_GRANT_INVALID: e(400, 'The exchange is refused by policy (on-behalf-of mode, card or instance state).', { oauth: policyRefusal }),
  ERR_SUBJECT_INVALID: tok('The subject token is not valid.'),
  ERR_ACTOR_REVOKED: e(400, 'The actor instance is revoked or suspended.', { oauth: policyRefusal }),
  ERR_DELEGATION_NOT_ALLOWED: e(400, "The parent agent's card does not allow delegation to this agent.", { oauth: policyRefusal }),
  ERR_DELEGATION_DEPTH: e(400, 'The delegation chain is too deep.', { oauth: policyRefusal }),
  ERR_SCOPE_INVALID: e(400, 'The scope is malformed or not within what may be granted.', { oauth: scope }),
  ERR_SCOPE_EXCEEDS_PARENT: e(400, 'The requested scope exceeds the parent mandate.', { oauth: scope }),
  ERR_SCOPE_NOT_ENTITLED: e(400, "The person the agent acts for lacks the right: no group of theirs is entitled to this scope (entitlements are configured).", { oauth: scope }),
  ERR_SCOPE_NOT_GRANTED: e(403, 'The mandate does not cover this tool or endpoint.'),
  ERR_TARGET_INVALID: e(400, 'The resource indicator names no enforcement point this mandate may reach.', { oauth: only('invalid_target') }),
  ERR_BUDGET_EXCEEDS_PARENT: e(400, 'The requested budget exceeds the parent mandate.', { oauth: only('invalid_request') }),
  // RFC 9396 §5: authorization details of an unknown type, malformed, or beyond what may be granted.
  ERR_AUTHORIZATION_DETAILS_INVALID: e(400, 'The authorization_details (RFC 9396) are of an unknown type or malformed.', { oauth: only('invalid_authorization_details') }),
  ERR_RECORD_EXCEEDS_PARENT: e(400, "The requested record constraints are wider than the parent mandate's (a field dropped, a value or bound added).", { oauth: only('invalid_authorization_details') }),
  ERR_RECORD_CONSTRAINT: e(403, "A call argument is outside the mandate's record constraints (authorization_details mandate_record); details name the field."),

  // Policy
  ERR_POLICY_DENIED: e(403, 'Policy forbids this call.'),
  ERR_POLICY_INVALID: e(400, 'The policy set does not parse or validate; `errors` gives file:line:column.'),
  ERR_POLICY_MISSING: e(500, 'The database holds no policy set.'),
  ERR_POLICY_PREPARSE: e(500, 'The policy engine could not preparse the policy set.'),
  ERR_POLICY_REQUEST_INVALID: e(400, 'The authorization request is not valid against the Cedar schema.'),
  ERR_POLICY_TESTS_INVALID: e(400, 'The policy test file is not valid.'),
  ERR_SCHEMA_INVALID: e(500, 'The Cedar schema does not parse.'),

  // Governance
  ERR_RATE_LIMITED: e(429, 'Too many calls; retry after the number of seconds in Retry-After.'),
  ERR_BUDGET_EXHAUSTED: e(403, "The mandate's budget cannot pay for this call."),
  ERR_BUDGET_EXCEEDED: e(403, 'The budget was spent by a concurrent call before this one committed.'),
  ERR_APPROVAL_REQUIRED: e(403, "The call is held for a person's approval."),
  ERR_APPROVAL_DENIED: e(403, 'A person denied this call.'),
  ERR_APPROVAL_USED: e(403, 'The approval was already used by another call.'),
  ERR_APPROVAL_NOT_FOUND: e(404, 'No approval has this id.'),
  ERR_APPROVAL_DECIDED: e(409, 'The approval was decided already.'),
  ERR_APPROVAL_EXPIRED: e(409, 'The approval expired before it was decided.'),
  ERR_APPROVAL_SELF: e(403, 'A person may not approve a call made on their own behalf.'),
  ERR_CONSENT_NOT_ALLOWED: e(403, 'This approval needs an approver: no policy lets the person consent to it, or the call is high-impact.'),
  ERR_CONSENT_WRONG_PERSON: e(403, 'Only the person the agent acts for may consent to this call.'),
  ERR_GOVERNANCE_UNAVAILABLE: e(503, 'Budgets or approvals could not be checked; nothing was forwarded.'),

  // Audit
  ERR_AUDIT_UNAVAILABLE: e(503, 'The decision could not be recorded in the audit trail; nothing was forwarded.'),
  ERR_AUDIT_STORE: e(500, 'The audit store is inconsistent.'),
  ERR_AUDIT_EVENT_INVALID: e(400, 'The audit event is not valid.'),
  ERR_AUDIT_EVENT_NOT_FOUND: e(404, 'No audit event has this id.'),
  ERR_AUDIT_CHAIN_INVALID: e(400, 'This chain cannot be sealed or appended to.'),
  ERR_AUDIT_CHAIN_MISMATCH: e(500, 'The chain head moved under the writer.'),
  ERR_AUDIT_CHAIN_SEALED: e(409, 'The chain is sealed; nothing more is appended to it.'),
  ERR_AUDIT_CURSOR: e(400, 'The query cursor is invalid.'),
  ERR_AUDIT_KEY_INVALID: e(500, 'The audit checkpoint or redaction key is invalid.'),
  ERR_AUDIT_LINE_INVALID: e(400, 'A line of the JSON lines export is not a valid event.'),
  ERR_AUDIT_LOG_GAP: e(409, 'The audit log is missing a leaf.'),
  ERR_AUDIT_NO_CHECKPOINT: e(404, 'No signed checkpoint exists yet.'),
  ERR_AUDIT_NO_DATABASE: e(500, 'No Mandate audit log was found at the given place.'),
  ERR_CHECKPOINT_MALFORMED: e(400, 'The checkpoint is malformed.'),
  ERR_CHECKPOINT_ORIGIN_MISMATCH: e(400, 'The checkpoint belongs to another log (origin).'),
  ERR_CHECKPOINT_FORK: e(409, 'Two checkpoints of one size disagree: the log forked.'),
  ERR_CHECKPOINT_ROLLBACK: e(409, 'The checkpoint is smaller than one already seen: the log rolled back.'),
  ERR_CHECKPOINT_INCONSISTENT: e(409, 'The consistency proof between two checkpoints fails.'),
  ERR_MERKLE_RANGE: e(400, 'The Merkle tree range is out of bounds.'),
  ERR_NOTE_MALFORMED: e(400, 'The signed note is malformed.'),
  ERR_NOTE_KEY_INVALID: e(400, 'The signed-note verifier key is invalid.'),
  ERR_NOTE_SIGNATURE_INVALID: e(400, 'A signed-note signature does not verify.'),
  ERR_NOTE_UNVERIFIED: e(400, 'The note carries no signature from a trusted key.'),
  ERR_JCS_CYCLE: e(400, 'The value cannot be canonicalized (RFC 8785): it refers to itself.', { jsonrpc: JSONRPC.invalidParams }),
  ERR_JCS_TOO_DEEP: e(400, 'The value cannot be canonicalized (RFC 8785): it is nested too deeply.', { jsonrpc: JSONRPC.invalidParams }),
  ERR_JCS_NON_FINITE_NUMBER: e(400, 'The value cannot be canonicalized (RFC 8785): it holds a non-finite number.', { jsonrpc: JSONRPC.invalidParams }),
  ERR_JCS_LONE_SURROGATE: e(400, 'The value cannot be canonicalized (RFC 8785): it holds a lone surrogate.', { jsonrpc: JSONRPC.invalidParams }),
  ERR_JCS_UNSUPPORTED_TYPE: e(400, 'The value cannot be canonicalized (RFC 8785): it holds a non-JSON type.', { jsonrpc: JSONRPC.invalidParams }),

  // MCP gateway
  ERR_ORIGIN_REFUSED: e(403, 'A request from a foreign browser Origin is refused (DNS rebinding).'),
  ERR_SERVER_NOT_FOUND: e(404, 'No MCP server has this name.'),
  ERR_SERVER_EXISTS: e(409, 'An MCP server with this name exists already.'),
  ERR_SERVER_COMMAND_NOT_FOUND: e(400, "A stdio server's command is not found or not executable on the Mandate host."),
  ERR_SECRET_MISSING: e(400, 'A server or connection names a secret that does not exist; set it first.'),
  ERR_TEMPLATE_SYNTAX: e(400, 'A value holds an unknown or unclosed placeholder (only {{secret:name}} is understood).'),
  ERR_LITERAL_SECRET: e(400, 'A spec holds what looks like a credential in clear; store it with `mandate secret set` and refer to it as {{secret:name}}.'),
  ERR_SESSION_NOT_FOUND: e(404, 'The MCP session is unknown here; initialize a new one.', { jsonrpc: JSONRPC.sessionNotFound }),
  ERR_SESSION_FOREIGN: e(403, 'The MCP session belongs to another mandate holder.'),
  ERR_TOOL_UNKNOWN: e(404, 'The MCP server has no such tool.', { jsonrpc: JSONRPC.invalidParams }),
  ERR_TOOL_NOT_FOUND: e(404, 'No pinned tool has this name.'),
  ERR_TOOL_QUARANTINED: e(403, 'The tool changed upstream and is quarantined until an admin approves it.'),
  ERR_TOOL_ARGUMENTS: e(400, "The arguments do not match the tool's pinned input schema.", { jsonrpc: JSONRPC.invalidParams }),
  ERR_TOOL_SCHEMA: e(502, "The tool's pinned input schema cannot be used."),
  ERR_PEER_NOT_FOUND: e(404, 'No A2A peer has this name.'),
  ERR_PEER_EXISTS: e(409, 'An A2A peer with this name exists already.'),
  ERR_PEER_IDENTITY: e(502, "The A2A peer's agent or instance is not active, so no derived mandate can be handed to it."),
  ERR_A2A_METHOD_UNSUPPORTED: e(404, 'Mandate does not forward this A2A method.', { jsonrpc: JSONRPC.methodNotFound }),
  ERR_A2A_PARAMS: e(400, 'The A2A request has no params object, or one Mandate cannot read.', { jsonrpc: JSONRPC.invalidParams }),
  ERR_UPSTREAM_UNAVAILABLE: e(502, 'The upstream could not be reached.'),
  ERR_UPSTREAM_TIMEOUT: e(504, 'The upstream did not answer in time.'),
  ERR_UPSTREAM_FAILED: e(502, 'The upstream failed the call.'),
  ERR_UPSTREAM_TOO_LARGE: e(502, "The upstream response exceeds the connection's limit."),
  ERR_UPSTREAM_ENCODING: e(502, 'The upstream response is in a corrupt or unsupported content coding.'),
  ERR_UPSTREAM_ADDRESS_REFUSED: e(502, 'The upstream resolved to an address the broker does not reach.'),
  ERR_UPSTREAM_SECRET_IN_BODY: e(502, 'The upstream returned a binary body holding the injected credential; it is withheld.'),
  ERR_UPSTREAM_HTTP_STATUS: e(502, 'The upstream answered with an error status (recorded on the call result).'),

  // The stdio bridge (`mandate mcp-proxy`): JSON-RPC only, the HTTP status is nominal
  ERR_MANDATE_REFUSED: e(401, 'The stdio bridge was refused a mandate by the token endpoint (`data.cause` holds the OAuth error).', { jsonrpc: JSONRPC.unauthorized }),
  ERR_GATEWAY_UNREACHABLE: e(503, 'The stdio bridge got no answer from Mandate (connection refused, reset or timed out).'),
  ERR_BRIDGE_FAILED: e(500, 'The stdio bridge could not relay the request for another reason.', { jsonrpc: JSONRPC.internalError }),

  // Credential broker
  ERR_CONNECTION_NOT_FOUND: e(404, 'No connection has this name.'),
  ERR_CONNECTION_EXISTS: e(409, 'A connection with this name exists already.'),
  ERR_CONNECTION_RULE: e(400, 'An endpoint rule of the connection is invalid.'),
  ERR_CONNECTION_INJECT: e(400, "The connection's injection setting is invalid."),
  ERR_CONNECTION_BASE_URL: e(400, "The connection's base URL is invalid or not allowed."),
  ERR_BROKER_METHOD: e(405, 'The connection does not allow this HTTP method.'),
  ERR_BROKER_ENDPOINT_UNKNOWN: e(404, 'No endpoint rule of the connection matches this path.'),
  ERR_BROKER_ENDPOINT_NOT_ALLOWED: e(403, 'The endpoint is not in the connection allow list.'),
  ERR_BROKER_PATH_INVALID: e(400, 'The request path is not in a form the broker accepts.'),
  ERR_BROKER_PATH_TRAVERSAL: e(400, 'The request path climbs out of its base (dot segments).'),
  ERR_BROKER_PATH_ENCODED_SEPARATOR: e(400, 'The request path holds an encoded separator (%2F, %5C).'),
  ERR_BROKER_PATH_DOUBLE_ENCODED: e(400, 'A request path segment is percent-encoded twice (%252F).'),
  ERR_BROKER_PATH_MATRIX_PARAMS: e(400, 'A request path segment holds a matrix parameter (; or %3B), which servers disagree on.'),
  ERR_BROKER_QUERY_INVALID: e(400, 'The query string or statement is invalid.'),
  ERR_BROKER_HEADER_INVALID: e(400, 'A request header is refused by the broker.'),
  ERR_BROKER_CREDENTIAL_MISSING: e(502, "The connection's credential is not set."),
  ERR_BROKER_CREDENTIAL_INVALID: e(502, "The connection's credential cannot be injected."),
  ERR_BROKER_INTERNAL: e(500, 'The broker failed unexpectedly; nothing was forwarded.'),
  ERR_SECRET_NAME: e(400, 'The secret name is invalid.'),
  ERR_SECRET_VALUE: e(400, 'The secret value is invalid.'),
  ERR_SECRET_NOT_FOUND: e(404, 'No secret has this name.'),
  ERR_SECRET_PERSON: e(403, 'The credential is per person and the mandate names none.'),
  ERR_DB_PERMISSION_DENIED: e(403, "The database refused the statement under the mandate's role."),
  ERR_DB_QUERY_INVALID: e(400, 'The database refused the statement as invalid.'),
  ERR_DB_TIMEOUT: e(504, 'The database statement timed out.'),
  ERR_DB_UNAVAILABLE: e(502, 'The upstream database could not be reached.'),
  ERR_DB_ROLE_FAILED: e(502, 'The database role for this mandate could not be created.'),
  ERR_DB_ROLE_NOT_READY: e(503, 'The database role for this mandate is still being created by another replica; retry.'),
  ERR_ISSUER_NOT_FOUND: e(404, 'No trusted issuer has this issuer URL.'),
  ERR_ISSUER_EXISTS: e(409, 'This issuer is trusted already; remove it first to change it.'),
  ERR_ISSUER_INVALID: e(400, "A trusted issuer's settings are invalid (URL, audiences, algorithms, claim mapping, key source) or its discovery document does not match it."),
  ERR_ISSUER_ADDRESS: e(400, "An issuer's discovery or JWKS URL names or resolves to an address that may not be fetched from (private or loopback without allow_loopback, link-local, metadata)."),
  ERR_ISSUER_UNAVAILABLE: e(503, "The person's identity provider could not be reached and its cached keys are missing or too old; no person token was accepted.", { oauth: only('temporarily_unavailable', 503) }),
  ERR_SINK_NOT_FOUND: e(404, 'No notification sink has this name.'),
  ERR_SINK_EXISTS: e(409, 'A notification sink with this name exists already.'),
  ERR_SINK_URL: e(400, 'A sink URL must be https, or http to a loopback address, without credentials.'),
  ERR_SINK_KEY: e(400, "A sink's signing key is missing, given twice, too short, or names a secret that does not exist."),
  ERR_TRAIL_SINK_NOT_FOUND: e(404, 'No trail sink has this name.'),
  ERR_TRAIL_SINK_EXISTS: e(409, 'A trail sink with this name exists already.'),
  ERR_TRAIL_SINK_INVALID: e(400, "A trail sink's settings do not fit its kind: a missing or malformed address, URL, subject, or secret."),

  // Lifecycle governance: inventory, owners (SCIM 2.0), clean-up
  ERR_CURSOR_INVALID: e(400, 'The page cursor is not one this API returned.'),
  ERR_PERSON_NOT_FOUND: e(404, 'No person or operator has this id, userName, subject or email.'),
  // RFC 7644 §3.12: SCIM refusals, answered as SCIM error bodies with their scimType.
  ERR_SCIM_UNAUTHENTICATED: e(401, 'The SCIM endpoint needs the SCIM bearer token an admin configured.'),
  ERR_SCIM_INVALID_VALUE: e(400, 'A SCIM attribute is missing or has a value the schema does not allow.'),
  ERR_SCIM_INVALID_SYNTAX: e(400, 'The SCIM request body is not a valid User resource or PatchOp.'),
  ERR_SCIM_INVALID_FILTER: e(400, 'The SCIM filter is not supported: only userName eq and externalId eq are.'),
  ERR_SCIM_INVALID_PATH: e(400, 'The SCIM PATCH path or attribute is not supported.'),
  ERR_SCIM_NOT_FOUND: e(404, 'No SCIM User has this id.'),
  ERR_SCIM_UNIQUENESS: e(409, 'Another SCIM User has this userName.'),
  // Lifecycle governance: access reviews, shadow-agent discovery, hygiene
  ERR_REVIEW_NOT_FOUND: e(404, 'No access review campaign has this id.'),
  ERR_REVIEW_CLOSED: e(409, 'The access review campaign is closed; its items can no longer be decided.'),
  ERR_REVIEW_EMPTY: e(409, 'No agent is in the scope of the access review campaign.'),
  ERR_REVIEW_ITEM_NOT_FOUND: e(404, 'The agent is not an item of this access review campaign.'),
  ERR_REVIEW_ITEM_DECIDED: e(409, 'The review item was decided already.'),
  ERR_REVIEW_TRIM_INVALID: e(400, 'A trim must remove at least one toolset item, role or delegation right, each one the agent holds.'),
  ERR_REVIEW_REPORT_INVALID: e(400, 'The access review report is malformed, its signature does not verify, or it is signed by a key other than the trusted one.'),
  ERR_FINDING_NOT_FOUND: e(404, 'No discovery finding has this id.'),
  ERR_FINDING_DECIDED: e(409, 'The finding was claimed or dismissed already.'),
  ERR_DISCOVERY_UNAVAILABLE: e(502, 'A discovery scanner could not reach what it scans (the database of a connection).'),
} as const satisfies Record<string, CatalogueEntry>;

/** A catalogued error code: the only codes a `MandateError` can carry. */
export type ErrorCode = keyof typeof CATALOGUE;

export const isErrorCode = (code: unknown): code is ErrorCode => typeof code === 'string' && Object.hasOwn(CATALOGUE, code);

export const entryOf = (code: ErrorCode): CatalogueEntry => CATALOGUE[code];
