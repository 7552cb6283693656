import crypto from 'node:crypto';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { canonicalize } from '../audit/jcs.ts';
import { scrubSecrets } from '../audit/redact.ts';
import { SYSTEM_CHAIN, type AuditWriter } from '../audit/writer.ts';
import { refusal } from '../errors.ts';
import { toolPinsRepository } from '../store/repositories/tool-pins.ts';
import type { Queryable } from '../store/store.ts';

/**
 * Tool definitions are pinned on first sight: a hash of name, description and input schema. When
 * an upstream later changes a definition (a "rug pull"), the tool is quarantined — hidden and
 * refused — until an admin approves the new version; the change is audited with both versions.
 */
export type PinnedDefinition = Pick<Tool, 'name' | 'description' | 'inputSchema'>;

export const definitionOf = (tool: Tool): PinnedDefinition => ({
  name: tool.name,
  ...(tool.description === undefined ? {} : { description: tool.description }),
  inputSchema: tool.inputSchema,
});

export const definitionHash = (definition: PinnedDefinition) =>
  crypto.createHash('sha256').update(canonicalize(JSON.parse(JSON.stringify(definition)))).digest('hex');

export interface Pin {
  tool: string;
  hash: string;
  status: 'approved' | 'quarantined';
  definition: PinnedDefinition;
  /** The upstream's changed definition a quarantined tool waits with for approval. */
  pending: { hash: string; definition: PinnedDefinition } | null;
}

/**
 * Compare the upstream's tools with their pins: pin new ones, quarantine changed ones. The tools
 * arrive scrubbed; `secrets` scrub the evidence again, since a pin written before scrubbing
 * covered tool lists may still hold a credential in clear.
 */
export async function reconcilePins(db: Queryable, audit: AuditWriter, server: string, tools: Tool[], now: Date, secrets: readonly string[] = []): Promise<Map<string, Pin>> {
  const repository = toolPinsRepository(db);
  const rows = await repository.listOf(server);
  const pins = new Map(rows.map((r) => [r.tool, r]));
  const at = now.toISOString();
  for (const tool of tools) {
    const definition = definitionOf(tool);
    const hash = definitionHash(definition);
    const pin = pins.get(tool.name);
    if (!pin) {
      // Two reads of the same list may race to pin a tool: the first pin stands.
      await repository.pinFirst({ server, tool: tool.name, hash, definition: JSON.stringify(definition), status: 'approved', pending_hash: null, pending_definition: null, updated_at: at });
      continue;
    }
    if (pin.hash === hash || pin.pending_hash === hash) continue;
    await repository.update(server, tool.name, { status: 'quarantined', pending_hash: hash, pending_definition: JSON.stringify(definition), updated_at: at });
    await audit.append({
      chain: SYSTEM_CHAIN,
      type: 'anomaly.tool_changed',
      actor: { instance: null, agent: null, person: null, delegation: [] },
      action: 'tool:pin',
      resource: `${server}/${tool.name}`,
      decision: 'deny',
      status: 'success',
      reasons: { message: JSON.stringify(scrubSecrets({ pinned: { hash: pin.hash, definition: JSON.parse(pin.definition) }, upstream: { hash, definition } }, secrets)).slice(0, 4096) },
    });
  }
  return loadPins(db, server);
}

export async function loadPins(db: Queryable, server: string): Promise<Map<string, Pin>> {
  const rows = await toolPinsRepository(db).listOf(server);
  return new Map(rows.map((r) => [r.tool, { tool: r.tool, hash: r.hash, status: r.status as Pin['status'], definition: JSON.parse(r.definition), pending: r.pending_hash && r.pending_definition ? { hash: r.pending_hash, definition: JSON.parse(r.pending_definition) } : null }]));
}

/** An admin accepts the upstream's new definition of a quarantined tool. */
export async function approvePin(db: Queryable, server: string, tool: string, now: Date): Promise<Pin> {
  const pins = toolPinsRepository(db);
  const row = await pins.find(server, tool);
  if (!row) throw refusal('ERR_TOOL_NOT_FOUND', `tool ${server}/${tool} is not pinned`);
  const hash = row.pending_hash ?? row.hash;
  const definition = row.pending_definition ?? row.definition;
  await pins.update(server, tool, { hash, definition, status: 'approved', pending_hash: null, pending_definition: null, updated_at: now.toISOString() });
  return { tool, hash, status: 'approved', definition: JSON.parse(definition), pending: null };
}
