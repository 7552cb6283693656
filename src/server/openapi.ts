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

const summaries = (paths: Record<string, [string, string]>) =>
  Object.fromEntries(
    Object.entries(paths).map(([path, [method, summary]]) => [
      path,
      { [method]: { summary, responses: { '200': { description: 'success' }, ...errors(400, 401, 403, 404) } } },
    ]),
  );

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
      securitySchemes: { adminToken: { type: 'http', scheme: 'bearer', description: 'mdt_… admin token' } },
      schemas: {
        AgentCardSpec: jsonSchema(agentCardSpecSchema),
        AgentCard: {
          allOf: [
            jsonSchema(agentCardSpecSchema, 'output'),
            {
              type: 'object',
              properties: {
                status: { enum: ['active', 'suspended', 'retired'] },
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
    security: [{ adminToken: [] }],
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
      '/v1/keys/{kid}/revoke': {
        post: {
          summary: 'Withdraw a signing key at once: unpublished, its tokens refused on every replica, its mandates revoked, a fresh key if it was signing',
          parameters: [{ name: 'kid', in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } }],
          responses: { '200': { description: 'the withdrawn kid, the key that signs now if it changed, how many mandates ended' }, ...errors(400, 401, 403, 404, 409) },
        },
      },
      ...summaries({
        '/v1/agents/{id}/join-tokens': ['post', 'Create a one-time join token for an instance of the agent'],
        '/v1/instances': ['post', 'Attest an instance (manifest JWS signed by the instance key; no admin token)'],
        '/v1/instances/{id}/token': ['post', 'Renew an identity token with a DPoP proof from the instance key'],
        '/v1/instances/{id}/revoke': ['post', 'Revoke an instance and every mandate derived from it'],
        '/v1/users/token': ['post', 'Person token from the development issuer'],
        '/v1/keys/rotate': ['post', 'Rotate the signing key'],
        '/v1/authorize': ['post', 'Decide an AuthZEN-style request with the running Cedar policies'],
        '/v1/policies': ['put', 'Replace the running policy set on every replica (validated as a whole first)'],
        '/v1/policies/explain': ['post', 'Explain a decision'],
        '/v1/servers': ['post', 'Register an upstream MCP server'],
        '/v1/servers/{name}/tools/{tool}/approve': ['post', "Approve a quarantined tool's new definition"],
        '/v1/secrets/{name}': ['put', 'Store a secret (sealed; never returned)'],
        '/v1/connections': ['post', 'Register an HTTP or PostgreSQL connection behind the broker'],
        '/v1/approvals': ['get', 'List held calls'],
        '/v1/approvals/{id}/approve': ['post', 'Approve a held call (single use, bound to that call)'],
        '/v1/approvals/{id}/deny': ['post', 'Deny a held call'],
        '/v1/audit/events': ['get', 'Query the audit trail (cursor pagination)'],
        '/v1/audit/export': ['get', 'Stream the trail as JSON lines, OCSF or CEF'],
        '/v1/audit/verify': ['get', 'Verify every chain and the Merkle tree against the signed checkpoints'],
        '/v1/audit/checkpoints': ['get', 'Signed checkpoints and the verifier key (public)'],
        '/v1/audit/proof/inclusion': ['get', 'RFC 9162 inclusion proof'],
        '/v1/audit/proof/consistency': ['get', 'RFC 9162 consistency proof'],
        '/v1/audit/digest': ['post', 'HMAC of a known value, to search the trail for it'],
        '/oauth/token': ['post', 'RFC 8693 token exchange with DPoP (form-encoded; OAuth errors)'],
        '/oauth/introspect': ['post', 'RFC 7662 introspection (admin bearer)'],
        '/oauth/revoke': ['post', 'RFC 7009 revocation with cascade (admin bearer)'],
        '/mcp/{server}': ['post', 'MCP Streamable HTTP gateway (Authorization: DPoP + DPoP proof)'],
        '/broker/{connection}/{path}': ['post', 'Credential broker (any method; Authorization: DPoP + DPoP proof)'],
      }),
      '/healthz': {
        get: { summary: 'Liveness', security: [], responses: { '200': { description: 'alive' } } },
      },
      '/readyz': {
        get: {
          summary: 'Readiness: the store answers and the replica is synchronized with the others',
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
