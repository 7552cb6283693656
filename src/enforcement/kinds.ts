import { A2A_ACTIONS, type DecisionRequest } from '../policy/request.ts';

/**
 * What an enforcement point protects, described once: the kit derives its RFC 8707 audience,
 * its RFC 9728 metadata, its `WWW-Authenticate` challenge, its refusals and its audit events from
 * this. A new enforcement point (agent-to-agent next) is one folder holding its adapter and one
 * row in `KINDS`; it never rebuilds authentication, challenges or refusal rendering.
 */
export interface ResourceKind {
  /** The kind's name, as logs and refusals name it. */
  kind: 'mcp' | 'http' | 'a2a';
  /** The path segment under the issuer: `<issuer>/<segment>/<name>` is one protected resource. */
  segment: string;
  /** The policy action every call through it asks about (for A2A: the first of `actions`). */
  action: DecisionRequest['action'];
  /** Every policy action a call through it may ask about (one per method for A2A). */
  actions: readonly DecisionRequest['action'][];
  /** Scope items that reach this kind start with this (`tool:`, `http:`, `a2a:`). */
  scopePrefix: string;
  /** The scope items one resource advertises (RFC 9728 `scopes_supported`). */
  scopesOf: (name: string) => string[];
  /** Audit event family: `<family>.decision`, `<family>.result`. */
  auditFamily: 'tool' | 'http' | 'a2a';
  /** How refusals are written on the wire: JSON-RPC error objects (MCP, A2A) or `{ error, message }`. */
  protocol: 'jsonrpc' | 'http';
  /** Whether a call held for approval waits (up to `approvals.waitSeconds`) for a person's answer. */
  holdsForApproval: boolean;
}

export const mcpTools: ResourceKind = {
  kind: 'mcp',
  segment: 'mcp',
  action: 'tools/call',
  actions: ['tools/call'],
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
  actions: ['http:request'],
  scopePrefix: 'http:',
  scopesOf: (connection) => [`http:${connection}:*:/**`],
  auditFamily: 'http',
  protocol: 'http',
  holdsForApproval: false,
};

/**
 * Agents behind `/a2a/<peer>` (Agent2Agent protocol, JSON-RPC binding): every method is decided
 * as its own action (`a2a:message/send`), a streamed task is cut when the mandate ends.
 */
export const a2aPeers: ResourceKind = {
  kind: 'a2a',
  segment: 'a2a',
  action: A2A_ACTIONS[0],
  actions: A2A_ACTIONS,
  scopePrefix: 'a2a:',
  scopesOf: (peer) => [`a2a:${peer}/*`],
  auditFamily: 'a2a',
  protocol: 'jsonrpc',
  holdsForApproval: true,
};

/** Every registered enforcement point. */
export const KINDS: readonly ResourceKind[] = [mcpTools, brokerConnections, a2aPeers];

/** The resource identifier of one protected resource (RFC 8707) — a mandate's `aud` names it. */
export const audienceOf = (issuer: string, kind: ResourceKind, name: string) => `${issuer}/${kind.segment}/${name}`;

/** The identifier of the whole enforcement point: a mandate for it is accepted at every resource. */
export const wholeAudienceOf = (issuer: string, kind: ResourceKind) => `${issuer}/${kind.segment}`;

/**
 * The audit family of an action. Refusals before the decision path may name any MCP method
 * (`prompts/get`): whatever no kind claims is the MCP gateway's.
 */
export const auditFamilyOf = (action: string): ResourceKind['auditFamily'] =>
  (KINDS.find((k) => (k.actions as readonly string[]).includes(action)) ?? (action.startsWith(a2aPeers.scopePrefix) ? a2aPeers : mcpTools)).auditFamily;

/** The enforcement point an action goes through, as metrics name it (`gateway`, `broker`, `a2a`). */
export const pointOf = (action: string): 'gateway' | 'broker' | 'a2a' => {
  const family = auditFamilyOf(action);
  return family === 'http' ? 'broker' : family === 'a2a' ? 'a2a' : 'gateway';
};
