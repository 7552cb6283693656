import type { Generated } from 'kysely';

/**
 * Table shapes shared by the SQLite and PostgreSQL adapters. Timestamps are ISO-8601 text and
 * structured values are JSON text, so one query layer serves both dialects unchanged.
 */
export interface SettingsTable {
  key: string;
  value: string;
}

export interface AdminTokensTable {
  id: string;
  name: string;
  role: string;
  secret_hash: string;
  created_at: string;
  revoked_at: string | null;
  /** JSON array of role grants (`admin`, `approver:prod`); null on tokens older than operators: `role` alone. */
  roles: string | null;
  /** The operator's subject when the token belongs to one. */
  operator: string | null;
  expires_at: string | null;
  last_used_at: string | null;
  created_by: string | null;
}

/** Persons who operate Mandate, with the roles they hold. */
export interface OperatorsTable {
  subject: string;
  email: string;
  name: string;
  /** JSON array of role grants (`security`, `approver:prod`). */
  roles: string;
  created_at: string;
  created_by: string | null;
}

/** When an alert rule last raised for a subject (`<rule>:<subject>`), shared by replicas. */
export interface AlertCooldownsTable {
  rule_key: string;
  raised_at: string;
}

/** A group's entitlements: the scope items its members' agents may be granted. */
export interface EntitlementsTable {
  group_name: string;
  /** JSON array of scope items. */
  items: string;
  updated_at: string;
}

/** Operator logins in flight between GET /v1/login and its callback (migration 0012_sso). */
/** A signed-in operator console (see migration 0015). */
export interface ConsoleSessionsTable {
  /** SHA-256 (hex) of the cookie's session id; the id itself is never stored. */
  id_hash: string;
  /** The operator API token the session acts with. */
  token_id: string;
  csrf_token: string;
  /** 1 when the token was issued for this session alone (single sign-on) and ends with it. */
  owns_token: number;
  created_at: string;
  expires_at: string;
}

export interface LoginStatesTable {
  /** SHA-256 (hex) of the OIDC `state`; the state itself is never stored. */
  state_hash: string;
  nonce: string;
  /** The PKCE code_verifier (RFC 7636), sent once at the code exchange. */
  code_verifier: string;
  /** The CLI's loopback URL the session goes to, or null to answer the callback with it. */
  return_to: string | null;
  created_at: string;
  expires_at: string;
}

export interface AgentsTable {
  id: string;
  name: string;
  owner: string | null;
  purpose: string;
  environment: string;
  model: string | null;
  version: string | null;
  code_hashes: string;
  config_hashes: string;
  toolset: string;
  roles: string;
  may_delegate_to: string;
  on_behalf_of: string;
  max_token_lifetime: number;
  default_budget: number;
  status: string;
  spec_hash: string;
  created_at: string;
  updated_at: string;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  public_jwk: string;
  private_sealed: string;
  created_at: string;
  /** When set, the key no longer signs; it stays published until `expires_at`. */
  retired_at: string | null;
  expires_at: string | null;
  /** When set, the key was withdrawn: unpublished, and everything it signed is refused. */
  revoked_at: string | null;
}

export interface JoinTokensTable {
  id: string;
  agent_id: string;
  secret_hash: string;
  uses_left: number;
  expires_at: string;
  created_at: string;
}

export interface InstancesTable {
  id: string;
  agent_id: string;
  spiffe_id: string;
  /** RFC 7638 thumbprint of the instance key; one key, one instance. */
  jkt: string;
  public_jwk: string;
  /** The attested manifest claims (code hash, model, version, environment, runtime). */
  claims: string;
  status: string;
  created_at: string;
  revoked_at: string | null;
}

export interface MandatesTable {
  jti: string;
  parent_jti: string | null;
  instance_id: string;
  agent_id: string;
  sub: string;
  scope: string;
  aud: string;
  budget: number;
  depth: number;
  task_id: string | null;
  issued_at: string;
  expires_at: string;
  revoked_at: string | null;
  /** The signing key that signed it (null for mandates issued before keys could be withdrawn). */
  kid: string | null;
}

export interface DpopReplayTable {
  key: string;
  /** Unix seconds; rows past it may be deleted. */
  expires_at: number | string;
}

export interface TrustedIssuersTable {
  issuer: string;
  /** Legacy single audience (rows made before audiences). */
  audience: string | null;
  /** Inline JWKS JSON; empty when the keys are fetched. */
  jwks: string;
  created_at: string;
  /** inline | jwks_uri | discovery */
  source: Generated<string>;
  jwks_uri: string | null;
  /** JSON arrays and object; null on legacy rows. */
  audiences: string | null;
  algorithms: string | null;
  claims: string | null;
  allow_loopback: Generated<number>;
  created_by: string | null;
}

export interface SecretsTable {
  name: string;
  sealed: string;
  master_key_id: string;
  created_at: string;
  updated_at: string;
}

export interface A2aPeersTable {
  name: string;
  /** The peer spec as JSON (A2A endpoint, published agent card, the agent and instance it runs as). */
  spec: string;
  created_at: string;
  updated_at: string;
}

export interface McpServersTable {
  name: string;
  /** The server spec as JSON (transport, command or URL, injected credentials, tool metadata). */
  spec: string;
  created_at: string;
  updated_at: string;
}

export interface ToolPinsTable {
  server: string;
  tool: string;
  hash: string;
  definition: string;
  /** `approved`, or `quarantined` when the upstream definition changed and awaits re-approval. */
  status: string;
  pending_hash: string | null;
  pending_definition: string | null;
  updated_at: string;
}

/** Spend per mandate (issue 8); a row appears at the mandate's first priced call. */
export interface MandateBudgetsTable {
  jti: string;
  budget: number;
  spent: number;
  updated_at: string;
}

/** Fixed-window call counters: `<scope>:<id>@<window start>`; rows past `expires_at` may go. */
export interface RateWindowsTable {
  key: string;
  hits: number;
  /** Unix seconds. */
  expires_at: number | string;
}

/** Per-agent behavioral baseline: counters by kind (tool, hour, chain, minute, destination, …). */
export interface BehaviorBaselinesTable {
  agent_id: string;
  kind: string;
  key: string;
  hits: number | string;
  first_seen: string;
  last_seen: string;
}

/** A call held for a person's approval, bound to mandate + resource + arguments digest. */
export interface ApprovalsTable {
  id: string;
  /** `pending`, `granted`, `denied` or `consumed`; past `expires_at` a pending or granted one is expired. */
  status: string;
  instance_id: string;
  agent_id: string;
  person: string | null;
  owner: string | null;
  jti: string;
  action: string;
  resource: string;
  args_digest: string;
  /** JSON: the policies, reasons and anomalies that asked for the approval. */
  why: string;
  risk: number;
  requested_at: string;
  expires_at: string;
  decided_at: string | null;
  decided_by: string | null;
  note: string | null;
  consumed_at: string | null;
}

export interface ConnectionsTable {
  name: string;
  /** The connection spec as JSON (type, base URL or DSN secret, injection, allow rules, endpoint metadata). */
  spec: string;
  created_at: string;
  updated_at: string;
}

export interface BrokerDbRolesTable {
  connection: string;
  /** The mandate the role was created for; it is dropped when that mandate ends. */
  jti: string;
  role: string;
  password_sealed: string;
  /** `creating` while the role is being made, `ready` once its grants are in place. */
  status: string;
  expires_at: string;
  created_at: string;
}

/**
 * One audit event (issue 5): `body` is the RFC 8785 text that was hashed (the event without
 * `hash`); the other columns repeat fields of it for queries. bigint columns come back as strings
 * from PostgreSQL.
 */
export interface AuditEventsTable {
  leaf_index: number | string;
  chain: string;
  seq: number | string;
  id: string;
  time: string;
  type: string;
  agent: string | null;
  instance: string | null;
  person: string | null;
  action: string | null;
  /** The first 512 characters of the resource. */
  resource: string | null;
  decision: string | null;
  status: string;
  trace_id: string | null;
  args_digest: string | null;
  hash: string;
  body: string;
}

/** The single row (id 1) every audit append locks: Merkle tree size and frontier (base64, largest subtree first). */
export interface AuditHeadTable {
  id: number;
  size: number | string;
  frontier: string;
  updated_at: string;
}

export interface AuditChainsTable {
  chain: string;
  seq: number | string;
  hash: string;
  /** 1 once `lifecycle.sealed` closed the chain. */
  sealed: number;
  updated_at: string;
}

/** Signed tree heads: C2SP signed notes over (origin, size, root). */
export interface AuditCheckpointsTable {
  size: number | string;
  /** Hex root hash. */
  root: string;
  note: string;
  created_at: string;
}

export interface PolicySetsTable {
  /** Increases with every apply; the highest is the running set (bigint: a string on PostgreSQL). */
  seq: number | string;
  version: string;
  /** JSON array of `{ file, text }`. */
  files: string;
  applied_at: string;
  applied_by: string;
}

/** A notification sink and its durable delivery state (issue 15). */
/** A trail sink (issue 19): the trail streamed to a SIEM; see migration 0018. */
export interface TrailSinksTable {
  name: string;
  /** syslog-tcp, syslog-tls, http-webhook, splunk-hec, nats-jetstream or otlp-logs. */
  kind: string;
  /** jsonl, ocsf or cef. */
  format: string;
  /** JSON object: what the kind needs that is not secret (address, URL, subject, CA). */
  settings: string;
  /** JSON arrays; empty for every event type / every environment. */
  events: string;
  environments: string;
  /** The kind's one secret sealed under the master key (HEC token, webhook key, TLS client key). */
  secret_sealed: string | null;
  paused_at: string | null;
  /** Global log position (audit leaf index) of the last event delivered or passed over; -1 for none. */
  delivered_through: number | string;
  delivered_count: number | string;
  last_delivered_at: string | null;
  /** Failed attempts since the last success. */
  failures: number;
  /** Failed attempts ever. */
  errors_count: number | string;
  last_error: string | null;
  last_error_at: string | null;
  lease_owner: string | null;
  lease_until: string | null;
  created_at: string;
  updated_at: string;
}

export interface NotifySinksTable {
  name: string;
  url: string;
  /** `json` or `slack`. */
  format: string;
  /** JSON array of the event types it receives. */
  events: string;
  /** The signing key sealed under the master key, or null when `key_secret` names a stored secret. */
  key_sealed: string | null;
  key_secret: string | null;
  paused_at: string | null;
  /** Global log position (audit leaf index) of the last event delivered or passed over; -1 for none. */
  delivered_through: number | string;
  delivered_count: number | string;
  last_delivered_at: string | null;
  /** Failed attempts since the last success. */
  failures: number;
  last_error: string | null;
  last_error_at: string | null;
  lease_owner: string | null;
  lease_until: string | null;
  created_at: string;
  updated_at: string;
}

/** A person provisioned by an identity provider over SCIM 2.0 (migration 0016_lifecycle). */
export interface PersonsTable {
  /** The SCIM `id` Mandate assigned. */
  id: string;
  user_name: string;
  external_id: string | null;
  /** The primary (or first) email. */
  email: string | null;
  display_name: string | null;
  /** The enterprise extension's `manager.value`: the SCIM id of the person's manager. */
  manager: string | null;
  active: number;
  /** The RFC 7643 User resource as last written (JSON), without `meta`. */
  resource: string;
  /** Increases with every write: the resource's ETag (RFC 7644 §3.14). */
  version: number;
  created_at: string;
  updated_at: string;
  /** When the person was deactivated or deleted; the row stays for the trail. */
  left_at: string | null;
}

/** A lifecycle flag on an agent: `orphaned` (its owner left) or `stale` (unused). */
export interface AgentFlagsTable {
  agent_id: string;
  flag: string;
  since: string;
  reason: string;
  /** When the follow-up (suspension) is due; null when none is. */
  due_at: string | null;
}

/** An access review campaign (issue 18): one item per agent in scope, decided by its owner. */
export interface ReviewCampaignsTable {
  id: string;
  environment: string | null;
  /** `open`; `closing` while the due-date action runs (from `closed_at`); `closed` once the report is signed. */
  status: string;
  /** What an item nobody decided gets at close: `suspend` or `trim` (its unused toolset items). */
  action: string;
  unused_days: number;
  due_at: string;
  created_by: string | null;
  created_at: string;
  closed_at: string | null;
  /** The signed outcome (JSON), once closed. */
  report: string | null;
}

export interface ReviewItemsTable {
  campaign_id: string;
  agent_id: string;
  owner: string | null;
  /** pending, certified, trimmed, suspended (by the due-date action), expired (agent gone). */
  status: string;
  /** JSON: the toolset, roles and delegation rights at the start of the campaign. */
  granted: string;
  /** JSON `{ toolset, may_delegate_to }`: rights unused over the campaign's window (the least-privilege suggestion). */
  unused: string;
  /** JSON: what a trim removed. */
  removed: string | null;
  decided_by: string | null;
  decided_at: string | null;
  note: string | null;
  reminded_at: string | null;
}

/** One finding of shadow-agent discovery; `fingerprint` dedupes repeated scans. */
export interface FindingsTable {
  id: string;
  scanner: string;
  kind: string;
  fingerprint: string;
  /** open, claimed, dismissed. */
  status: string;
  severity: string;
  title: string;
  source: string;
  /** JSON; never a secret in clear (a keyed fingerprint and a redacted hint instead). */
  detail: string;
  first_seen: string;
  last_seen: string;
  seen_count: number;
  agent_id: string | null;
  owner: string | null;
  reason: string | null;
  decided_by: string | null;
  decided_at: string | null;
}

/** Requests an enforcement point refused before any mandate was accepted, grouped by source. */
export interface RefusedClientsTable {
  source: string;
  kind: string;
  resource: string;
  code: string;
  /** The client's User-Agent (clipped), '' when it sent none: part of what a source is. */
  user_agent: string;
  attempts: number;
  first_seen: string;
  last_seen: string;
}

export interface HygieneSnapshotsTable {
  taken_at: string;
  /** JSON: the report's counts at that time. */
  counts: string;
}

export interface Database {
  persons: PersonsTable;
  agent_flags: AgentFlagsTable;
  policy_sets: PolicySetsTable;
  audit_events: AuditEventsTable;
  notify_sinks: NotifySinksTable;
  trail_sinks: TrailSinksTable;
  audit_head: AuditHeadTable;
  audit_chains: AuditChainsTable;
  audit_checkpoints: AuditCheckpointsTable;
  secrets: SecretsTable;
  mcp_servers: McpServersTable;
  a2a_peers: A2aPeersTable;
  tool_pins: ToolPinsTable;
  connections: ConnectionsTable;
  broker_db_roles: BrokerDbRolesTable;
  join_tokens: JoinTokensTable;
  instances: InstancesTable;
  mandates: MandatesTable;
  dpop_replay: DpopReplayTable;
  trusted_issuers: TrustedIssuersTable;
  settings: SettingsTable;
  admin_tokens: AdminTokensTable;
  operators: OperatorsTable;
  entitlements: EntitlementsTable;
  alert_cooldowns: AlertCooldownsTable;
  login_states: LoginStatesTable;
  console_sessions: ConsoleSessionsTable;
  agents: AgentsTable;
  signing_keys: SigningKeysTable;
  mandate_budgets: MandateBudgetsTable;
  rate_windows: RateWindowsTable;
  behavior_baselines: BehaviorBaselinesTable;
  approvals: ApprovalsTable;
  review_campaigns: ReviewCampaignsTable;
  review_items: ReviewItemsTable;
  findings: FindingsTable;
  refused_clients: RefusedClientsTable;
  hygiene_snapshots: HygieneSnapshotsTable;
}

export type { Generated };
