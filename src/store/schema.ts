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
}

export interface DpopReplayTable {
  key: string;
  /** Unix seconds; rows past it may be deleted. */
  expires_at: number | string;
}

export interface TrustedIssuersTable {
  issuer: string;
  audience: string | null;
  jwks: string;
  created_at: string;
}

export interface SecretsTable {
  name: string;
  sealed: string;
  master_key_id: string;
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

export interface Database {
  secrets: SecretsTable;
  mcp_servers: McpServersTable;
  tool_pins: ToolPinsTable;
  join_tokens: JoinTokensTable;
  instances: InstancesTable;
  mandates: MandatesTable;
  dpop_replay: DpopReplayTable;
  trusted_issuers: TrustedIssuersTable;
  settings: SettingsTable;
  admin_tokens: AdminTokensTable;
  agents: AgentsTable;
  signing_keys: SigningKeysTable;
}

export type { Generated };
