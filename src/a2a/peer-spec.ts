import { z } from 'zod';
import { refusal } from '../errors.ts';
import { A2A_ACTIONS } from '../policy/request.ts';
import { a2aPeersRepository } from '../store/repositories/a2a-peers.ts';
import type { Queryable } from '../store/store.ts';
import { parseOrThrow } from '../validation.ts';
import type { A2aMethod } from './methods.ts';

const METHOD_NAMES = A2A_ACTIONS.map((action) => action.slice(4)) as [A2aMethod, ...A2aMethod[]];

const methodMeta = z.strictObject({
  cost: z.number().int().nonnegative().default(0),
  classification: z.enum(['public', 'internal', 'confidential', 'restricted']).default('internal'),
  high_impact: z.boolean().default(false),
});

/**
 * An agent reachable over A2A (JSON-RPC binding) that Mandate fronts at `/a2a/<name>`: its own
 * JSON-RPC endpoint, the agent card it publishes (Mandate republishes it with itself as the
 * endpoint and as the authorization server), the Mandate agent it runs as (and, when that agent
 * has several instances, which one), and per-method metadata for policy and budgets.
 */
export const peerSpecSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be letters, digits, _ . - (1-64)'),
  url: z
    .string()
    .url()
    .max(2048)
    .refine((u) => /^https?:$/.test(new URL(u).protocol), 'must be http: or https:'),
  /** The agent card as the peer publishes it (A2A v1.0 or v0.3 JSON). */
  card: z.record(z.string(), z.unknown()).refine((card) => typeof card.name === 'string', 'an agent card needs a name'),
  /** The Mandate agent the peer runs as: it receives the derived mandate of every call. */
  agent: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/),
  /** Its instance, when the agent has more than one. */
  instance: z.string().min(1).max(128).optional(),
  methods: z.partialRecord(z.enum(METHOD_NAMES), methodMeta).default({}),
  timeout_ms: z.number().int().min(100).max(600_000).default(30_000),
});

export type PeerSpec = z.output<typeof peerSpecSchema>;
export type MethodMeta = z.output<typeof methodMeta>;

export const methodMetaOf = (spec: PeerSpec, method: A2aMethod): MethodMeta => spec.methods[method] ?? { cost: 0, classification: 'internal', high_impact: false };

export const parsePeerSpec = (input: unknown): PeerSpec => parseOrThrow(peerSpecSchema, input, 'peer');

export async function addPeer(db: Queryable, spec: PeerSpec, now: Date, replace = false): Promise<PeerSpec> {
  const peers = a2aPeersRepository(db);
  const existing = await peers.find(spec.name);
  if (existing && !replace) throw refusal('ERR_PEER_EXISTS', `A2A peer ${spec.name} already exists`);
  if (!existing && replace) throw refusal('ERR_PEER_NOT_FOUND', `A2A peer ${spec.name} not found`);
  const at = now.toISOString();
  if (existing) await peers.replaceSpec(spec.name, JSON.stringify(spec), at);
  else await peers.insert({ name: spec.name, spec: JSON.stringify(spec), created_at: at, updated_at: at });
  return spec;
}

export async function findPeer(db: Queryable, name: string): Promise<PeerSpec | undefined> {
  const row = await a2aPeersRepository(db).find(name);
  return row ? (JSON.parse(row.spec) as PeerSpec) : undefined;
}

export async function getPeer(db: Queryable, name: string): Promise<PeerSpec> {
  const spec = await findPeer(db, name);
  if (!spec) throw refusal('ERR_PEER_NOT_FOUND', `A2A peer ${name} not found`);
  return spec;
}

export async function listPeers(db: Queryable): Promise<PeerSpec[]> {
  return (await a2aPeersRepository(db).list()).map((row) => JSON.parse(row.spec) as PeerSpec);
}

export async function removePeer(db: Queryable, name: string): Promise<void> {
  if (!(await a2aPeersRepository(db).remove(name))) throw refusal('ERR_PEER_NOT_FOUND', `A2A peer ${name} not found`);
}
