import type { DecisionRequest } from '../policy/request.ts';

/**
 * What an enforcement point protects, described once: the kit derives its RFC 8707 audience,
 * its RFC 9728 metadata, its `WWW-Authenticate` challenge, its refusals and its audit events from
 * this. A new enforcement point (agent-to-agent next) is one folder holding its adapter and one
 * row in `KINDS`; it never rebuilds authentication, challenges or refusal rendering.
 */
export interface ResourceKind {
  /** The kind's name, as logs and refusals name it. */
  kind: 'mcp' | 'http';
  /** The path segment under the issuer: `<issuer>/<segment>/<name>` is one protected resource. */
  segment: string;
  /** The policy action every call through it asks about. */
  action: DecisionRequest['action'];
  /** Scope items that reach this kind start with this (`tool:`, `http:`). */
  scopePrefix: string;
  /** The scope items one resource advertises (RFC 9728 `scopes_supported`). */
  scopesOf: (name: string) => string[];
  /** Audit event family: `<family>.decision`, `<family>.result`. */
  auditFamily: 'tool' | 'http';
  /** How refusals are written on the wire: JSON-RPC error objects (MCP) or `{ error, message }`. */
  protocol: 'jsonrpc' | 'http';
  /** Whether a call held for approval waits (up to `approvals.waitSeconds`) for a person's answer. */
  holdsForApproval: boolean;
}

export const mcpTools: ResourceKind = {
  kind: 'mcp',
  segment: 'mcp',
  action: 'tools/call',
  scopePrefix: 'tool:',
  scopesOf: (server) => [`tool:${server}/*`],
  auditFamily: 'tool',
  protocol: 'jsonrpc',
  holdsForApproval: true,
};

export const brokerConnections: ResourceKind = {
  kind: 'http',
  segment: 'broker',
  action: 'http:request',
  scopePrefix: 'http:',
  scopesOf: (connection) => [`http:${connection}:*:/**`],
  auditFamily: 'http',
  protocol: 'http',
  holdsForApproval: false,
};

/** Every registered enforcement point. */
export const KINDS: readonly ResourceKind[] = [mcpTools, brokerConnections];

/** The resource identifier of one protected resource (RFC 8707) — a mandate's `aud` names it. */
export const audienceOf = (issuer: string, kind: ResourceKind, name: string) => `${issuer}/${kind.segment}/${name}`;

/** The identifier of the whole enforcement point: a mandate for it is accepted at every resource. */
export const wholeAudienceOf = (issuer: string, kind: ResourceKind) => `${issuer}/${kind.segment}`;

/**
 * The audit family of an action. Refusals before the decision path may name any MCP method
 * (`prompts/get`): whatever no kind claims is the MCP gateway's.
 */
export const auditFamilyOf = (action: string): ResourceKind['auditFamily'] => (KINDS.find((k) => k.action === action) ?? mcpTools).auditFamily;

/** The enforcement point an action goes through, as metrics name it (`gateway`, `broker`). */
export const pointOf = (action: string): 'gateway' | 'broker' => (auditFamilyOf(action) === 'http' ? 'broker' : 'gateway');
