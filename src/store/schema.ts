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

export interface Database {
  settings: SettingsTable;
  admin_tokens: AdminTokensTable;
  agents: AgentsTable;
  signing_keys: SigningKeysTable;
}

export type { Generated };
