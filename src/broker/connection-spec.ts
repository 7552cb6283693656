import { z } from 'zod';
import { MandateError, refusal } from '../errors.ts';
import { CLASSIFICATIONS } from '../policy/request.ts';
import { connectionsRepository } from '../store/repositories/connections.ts';
import type { Queryable } from '../store/store.ts';
import { lowerSegment, type PathGlob, parsePathGlob, pathCovers } from '../tokens/scope-path.ts';
import { parseOrThrow } from '../validation.ts';
import { checkBaseUrl } from './address-guard.ts';
import { type InjectRule, parseInjectRule } from './injection.ts';
import { secretRefs } from './secret-refs.ts';
import { checkSecretsExist, SECRET_NAME } from './secrets.ts';

/**
 * A connection the broker fronts at `/broker/<name>/…`: an HTTP API (base URL, how its credential
 * is injected, which `METHOD path-glob` requests may reach it) or a PostgreSQL database (an admin
 * DSN in the secret store and the grants each mandate's short-lived role receives). Endpoint
 * metadata (cost, data classification, high impact) feeds the policy decision of each call.
 */
export const MAX_BODY_LIMIT = 64 * 1024 * 1024;
export const DEFAULT_BODY_LIMIT = 10 * 1024 * 1024;

const endpointMeta = z.strictObject({
  /** `METHOD path-glob`, as in `allow`; every matching entry applies (see `endpointMetaOf`). */
  match: z.string().min(2).max(1100),
  cost: z.number().int().nonnegative().optional(),
  classification: z.enum(CLASSIFICATIONS).optional(),
  high_impact: z.boolean().optional(),
  /**
   * A JSON Schema (`type: object`) of the fields of matching requests' JSON or form body and query:
   * what types them for policy as `context.args` (src/policy/args-schema.ts). Not enforced on calls.
   */
  arguments: z.looseObject({ type: z.literal('object'), properties: z.record(z.string(), z.unknown()) }).optional(),
});

const common = {
  name: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/, 'must be letters, digits, _ . - (1-64), not starting with . or -'),
  endpoints: z.array(endpointMeta).max(256).default([]),
  timeout_ms: z.number().int().min(100).max(300_000).default(30_000),
  body_limit: z.number().int().min(1024).max(MAX_BODY_LIMIT).default(DEFAULT_BODY_LIMIT),
};

const httpSpec = z.strictObject({
  ...common,
  type: z.literal('http'),
  base_url: z.string().min(1).max(2048),
  inject: z.array(z.string().min(1).max(4300)).max(16).default([]),
  allow: z.array(z.string().min(2).max(1100)).min(1, 'at least one METHOD path-glob rule').max(256),
  /** Allow plain http: to a named or non-loopback host (development only). */
  insecure: z.boolean().default(false),
  /**
   * Whether the upstream tells `/Admin` from `/admin`. `insensitive`: paths, allow rules and
   * endpoint matches are folded to lower case before any decision, and the lower-case path is
   * forwarded, so no spelling of a denied path reaches it.
   */
  path_case: z.enum(['sensitive', 'insensitive']).default('sensitive'),
});

const postgresSpec = z.strictObject({
  ...common,
  type: z.literal('postgres'),
  dsn_secret: z.string().regex(SECRET_NAME, 'must name a secret'),
  grant_template: z.string().min(1).max(8192).refine((t) => t.includes('{{role}}'), 'must grant to {{role}}'),
  max_rows: z.number().int().min(1).max(100_000).default(1000),
});

export const connectionSpecSchema = z.discriminatedUnion('type', [httpSpec, postgresSpec]);

export type ConnectionSpec = z.output<typeof connectionSpecSchema>;
export type HttpConnectionSpec = z.output<typeof httpSpec>;
export type PostgresConnectionSpec = z.output<typeof postgresSpec>;

export interface RequestRule {
  method: string;
  path: PathGlob;
}

/** `METHOD path-glob`: `GET /repos/**`, `* /status`. */
export function parseRequestRule(text: string): RequestRule {
  const match = /^(\*|[A-Z]{1,20}) (\/.*)$/.exec(text);
  const path = match ? parsePathGlob(match[2]!, true) : 'expected METHOD path-glob';
  if (!match || typeof path === 'string') throw new MandateError('ERR_CONNECTION_RULE', `rule ${JSON.stringify(text.slice(0, 80))} is invalid: ${path}`);
  return { method: match[1]!, path };
}

/** The rule as the connection compares it: folded to lower case when its upstream ignores case. */
export const ruleFor = (spec: ConnectionSpec, text: string): RequestRule => {
  const rule = parseRequestRule(text);
  return caseInsensitive(spec) ? { method: rule.method, path: rule.path.map(lowerSegment) } : rule;
};

export const caseInsensitive = (spec: ConnectionSpec): boolean => spec.type === 'http' && spec.path_case === 'insensitive';

export const ruleMatches = (rule: RequestRule, method: string, path: PathGlob) => (rule.method === '*' || rule.method === method) && pathCovers(rule.path, path);

/** Validate input as a connection spec; every rule and template is parsed now, not at first use. */
export function parseConnectionSpec(input: unknown): ConnectionSpec {
  const typed = input && typeof input === 'object' && !('type' in input) ? { ...input, type: 'http' } : input;
  const spec = parseOrThrow(connectionSpecSchema, typed, 'connection');
  for (const entry of spec.endpoints) parseRequestRule(entry.match);
  if (spec.type === 'http') {
    checkBaseUrl(spec.base_url, spec.insecure);
    for (const rule of spec.allow) parseRequestRule(rule);
    for (const rule of spec.inject) parseInjectRule(rule);
  }
  return spec;
}

export interface EndpointMeta {
  cost: number;
  classification: (typeof CLASSIFICATIONS)[number];
  highImpact: boolean;
}

/**
 * The metadata of one request: every matching `endpoints` entry applies, the most conservative
 * value winning (highest cost, most restrictive classification, high impact if any says so), so
 * the order of entries never weakens a setting.
 */
export function endpointMetaOf(spec: ConnectionSpec, method: string, path: PathGlob): EndpointMeta {
  const meta: EndpointMeta = { cost: 0, classification: 'internal', highImpact: false };
  let classified = false;
  for (const entry of spec.endpoints) {
    if (!ruleMatches(ruleFor(spec, entry.match), method, path)) continue;
    if (entry.cost !== undefined) meta.cost = Math.max(meta.cost, entry.cost);
    if (entry.high_impact) meta.highImpact = true;
    if (entry.classification) {
      const rank = CLASSIFICATIONS.indexOf(entry.classification);
      if (!classified || rank > CLASSIFICATIONS.indexOf(meta.classification)) meta.classification = entry.classification;
      classified = true;
    }
  }
  return meta;
}

/** An HTTP connection compiled for the call path. */
export interface HttpConnection {
  spec: HttpConnectionSpec;
  allow: RequestRule[];
  inject: InjectRule[];
}

export const compileHttp = (spec: HttpConnectionSpec): HttpConnection => ({
  spec,
  allow: spec.allow.map((rule) => ruleFor(spec, rule)),
  inject: spec.inject.map(parseInjectRule),
});

/** The secrets a connection needs, with where it names them. */
function secretsOf(spec: ConnectionSpec) {
  if (spec.type === 'postgres') return [{ name: spec.dsn_secret, perPerson: false, where: 'dsn_secret' }];
  return spec.inject.flatMap((rule, i) => secretRefs(rule).map((ref) => ({ ...ref, where: `inject[${i}]` })));
}

export async function addConnection(db: Queryable, spec: ConnectionSpec, now: Date, replace = false): Promise<ConnectionSpec> {
  const connections = connectionsRepository(db);
  const existing = await connections.find(spec.name);
  if (existing && !replace) throw refusal('ERR_CONNECTION_EXISTS', `connection ${spec.name} already exists`);
  await checkSecretsExist(db, secretsOf(spec));
  const at = now.toISOString();
  if (existing) await connections.replaceSpec(spec.name, JSON.stringify(spec), at);
  else await connections.insert({ name: spec.name, spec: JSON.stringify(spec), created_at: at, updated_at: at });
  return spec;
}

export async function findConnection(db: Queryable, name: string): Promise<ConnectionSpec | undefined> {
  const row = await connectionsRepository(db).find(name);
  return row ? (JSON.parse(row.spec) as ConnectionSpec) : undefined;
}

export async function getConnection(db: Queryable, name: string): Promise<ConnectionSpec> {
  const spec = await findConnection(db, name);
  if (!spec) throw refusal('ERR_CONNECTION_NOT_FOUND', `connection ${name} not found`);
  return spec;
}

export async function listConnections(db: Queryable): Promise<ConnectionSpec[]> {
  const rows = await connectionsRepository(db).list();
  return rows.map((r) => JSON.parse(r.spec) as ConnectionSpec);
}

export async function removeConnection(db: Queryable, name: string): Promise<void> {
  if (!(await connectionsRepository(db).remove(name))) throw refusal('ERR_CONNECTION_NOT_FOUND', `connection ${name} not found`);
}
