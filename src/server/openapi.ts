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
      '/healthz': {
        get: { summary: 'Liveness', security: [], responses: { '200': { description: 'alive' } } },
      },
      '/readyz': {
        get: {
          summary: 'Readiness (store reachable)',
          security: [],
          responses: { '200': { description: 'ready' } },
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
