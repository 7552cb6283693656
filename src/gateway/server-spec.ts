import { z } from 'zod';
import { checkSecretsExist } from '../broker/secrets.ts';
import { secretRefs } from '../broker/secret-refs.ts';
import { refusal } from '../errors.ts';
import { mcpServersRepository } from '../store/repositories/mcp-servers.ts';
import { toolPinsRepository } from '../store/repositories/tool-pins.ts';
import type { Queryable } from '../store/store.ts';
import { parseOrThrow } from '../validation.ts';
import { checkCommand, checkCredentials, templatesOf } from './server-checks.ts';

/**
 * An upstream MCP server the gateway fronts at `/mcp/<name>`: spawned over stdio (supervised)
 * or reached over Streamable HTTP, with the credentials the gateway injects (env vars or
 * headers holding `{{secret:…}}` placeholders, filled from the secret store per connection) and
 * per-tool metadata for policy and budgets.
 */
const toolMeta = z.strictObject({
  cost: z.number().int().nonnegative().default(0),
  classification: z.enum(['public', 'internal', 'confidential', 'restricted']).default('internal'),
  high_impact: z.boolean().default(false),
});

export const serverSpecSchema = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be letters, digits, _ . - (1-64)'),
    transport: z.enum(['stdio', 'http']),
    command: z.array(z.string().min(1).max(4096)).min(1).max(64).optional(),
    url: z.string().url().optional(),
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string().max(4096)).default({}),
    headers: z.record(z.string().regex(/^[A-Za-z0-9-]{1,100}$/), z.string().max(4096)).default({}),
    tools: z.record(z.string().max(128), toolMeta).default({}),
    timeout_ms: z.number().int().min(100).max(600_000).default(30_000),
  })
  .superRefine((spec, ctx) => {
    if (spec.transport === 'stdio' && !spec.command) ctx.addIssue({ code: 'custom', path: ['command'], message: 'required for stdio' });
    if (spec.transport === 'http' && !spec.url) ctx.addIssue({ code: 'custom', path: ['url'], message: 'required for http' });
  });

export type ServerSpec = z.output<typeof serverSpecSchema>;
export type ToolMeta = z.output<typeof toolMeta>;

export const toolMetaOf = (spec: ServerSpec, tool: string): ToolMeta => spec.tools[tool] ?? { cost: 0, classification: 'internal', high_impact: false };

/** Validate input as a server spec; its credential templates are checked now, not at first use. */
export function parseServerSpec(input: unknown): ServerSpec {
  const spec = parseOrThrow(serverSpecSchema, input, 'server');
  checkCredentials(spec);
  return spec;
}

export async function addServer(db: Queryable, spec: ServerSpec, now: Date, replace = false): Promise<ServerSpec> {
  const servers = mcpServersRepository(db);
  const existing = await servers.find(spec.name);
  if (existing && !replace) throw refusal('ERR_SERVER_EXISTS', `server ${spec.name} already exists`);
  await checkSecretsExist(db, templatesOf(spec).flatMap(([where, value]) => secretRefs(value).map((ref) => ({ ...ref, where }))));
  checkCommand(spec);
  const at = now.toISOString();
  if (existing) await servers.replaceSpec(spec.name, JSON.stringify(spec), at);
  else await servers.insert({ name: spec.name, spec: JSON.stringify(spec), created_at: at, updated_at: at });
  return spec;
}

export async function findServer(db: Queryable, name: string): Promise<ServerSpec | undefined> {
  const row = await mcpServersRepository(db).find(name);
  return row ? (JSON.parse(row.spec) as ServerSpec) : undefined;
}

export async function getServer(db: Queryable, name: string): Promise<ServerSpec> {
  const spec = await findServer(db, name);
  if (!spec) throw refusal('ERR_SERVER_NOT_FOUND', `server ${name} not found`);
  return spec;
}

export async function listServers(db: Queryable): Promise<ServerSpec[]> {
  const rows = await mcpServersRepository(db).list();
  return rows.map((r) => JSON.parse(r.spec) as ServerSpec);
}

export async function removeServer(db: Queryable, name: string): Promise<void> {
  if (!(await mcpServersRepository(db).remove(name))) throw refusal('ERR_SERVER_NOT_FOUND', `server ${name} not found`);
  await toolPinsRepository(db).removeOf(name);
}
