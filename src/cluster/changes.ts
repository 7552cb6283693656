/**
 * What one replica tells the others when shared state changes in a way their in-memory state
 * (caches, the running policy set, key ring, tool pins, upstream sessions) must follow. Published
 * with PostgreSQL NOTIFY (payloads stay far below its 8,000-byte limit) and applied locally.
 */
export type Change =
  /** Mandates ended (revocation, cascade, budget exhaustion); `jtis` omitted means "any". */
  | { kind: 'mandates.revoked'; jtis?: string[] }
  | { kind: 'instance.revoked'; id: string }
  | { kind: 'agent.changed'; id: string }
  | { kind: 'policy.applied'; version: string }
  | { kind: 'keys.rotated'; kid: string }
  /** A signing key was withdrawn: reload the key ring and forget every verification made with it. */
  | { kind: 'keys.revoked'; kid: string }
  | { kind: 'pins.changed'; server: string }
  | { kind: 'server.changed'; name: string }
  | { kind: 'connection.changed'; name: string }
  /** A secret was set, removed or re-sealed: forget its sealed value. */
  | { kind: 'secret.changed'; name: string }
  /** Anything a replica cannot read as one of the above: it resynchronizes everything. */
  | { kind: 'resync' };

const MAX_JTIS = 100;

/** A revocation of many mandates is sent as "any": receivers drop every cached standing. */
export function mandatesRevoked(jtis: readonly string[]): Change {
  return jtis.length <= MAX_JTIS ? { kind: 'mandates.revoked', jtis: [...jtis] } : { kind: 'mandates.revoked' };
}

/**
 * On the wire a change names the replica that sent it, which then ignores its own echo, and when
 * it was sent (ms since the epoch), from which receivers measure propagation.
 */
export const encodeChange = (change: Change, from: string, at: number = Date.now()): string => JSON.stringify({ ...change, from, at });

/** When a change was sent, or undefined for a payload without a usable time. */
export const sentAtOf = (payload: string): number | undefined => {
  try {
    const at = (JSON.parse(payload) as { at?: unknown }).at;
    return typeof at === 'number' && Number.isFinite(at) ? at : undefined;
  } catch {
    return undefined;
  }
};

export const senderOf = (payload: string): string | undefined => {
  try {
    const from = (JSON.parse(payload) as { from?: unknown }).from;
    return typeof from === 'string' ? from : undefined;
  } catch {
    return undefined;
  }
};

const text = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 400;

/** Anything on the channel that is not a well-formed change asks for a full resync: fail safe. */
export function decodeChange(payload: string | undefined): Change {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(payload ?? '') as Record<string, unknown>;
  } catch {
    return { kind: 'resync' };
  }
  if (typeof value !== 'object' || value === null) return { kind: 'resync' };
  switch (value.kind) {
    case 'mandates.revoked':
      if (value.jtis === undefined) return { kind: 'mandates.revoked' };
      return Array.isArray(value.jtis) && value.jtis.every(text) ? { kind: 'mandates.revoked', jtis: value.jtis } : { kind: 'mandates.revoked' };
    case 'instance.revoked':
    case 'agent.changed':
      return text(value.id) ? { kind: value.kind, id: value.id } : { kind: 'resync' };
    case 'policy.applied':
      return text(value.version) ? { kind: 'policy.applied', version: value.version } : { kind: 'resync' };
    case 'keys.rotated':
    case 'keys.revoked':
      return text(value.kid) ? { kind: value.kind, kid: value.kid } : { kind: 'resync' };
    case 'pins.changed':
      return text(value.server) ? { kind: 'pins.changed', server: value.server } : { kind: 'resync' };
    case 'server.changed':
    case 'connection.changed':
    case 'secret.changed':
      return text(value.name) ? { kind: value.kind, name: value.name } : { kind: 'resync' };
    default:
      return { kind: 'resync' };
  }
}
