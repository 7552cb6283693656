import { MandateError } from '../errors.ts';
import { getAgent } from '../registry/agents.ts';
import { listInstances } from '../identity/instances.ts';
import { inventoryRepository, type MandateInventoryRow } from '../store/repositories/inventory.ts';
import type { Queryable } from '../store/store.ts';
import { coveredBySet, parseScopeItem, type ScopeItem } from '../tokens/scope.ts';

/**
 * The live inventory: which mandates stand (with their delegation tree, scope, budget left and
 * expiry), which instances acted last when, and per agent which toolset items it was granted
 * against what the trail shows it used.
 */
export type MandateState = 'live' | 'revoked' | 'expired' | 'instance_revoked' | 'agent_suspended' | 'agent_retired';

export interface MandateView {
  jti: string;
  parent_jti: string | null;
  /** Mandates delegated from this one (direct children). */
  children: string[];
  agent: string;
  instance: string;
  person: string;
  scope: string[];
  audience: string[];
  /** `left`: what it may still spend, its ancestors' budgets counted (a child draws on its parent's). */
  budget: { limit: number; spent: number; left: number };
  depth: number;
  task: string | null;
  issued_at: string;
  expires_at: string;
  revoked_at: string | null;
  state: MandateState;
}

export interface MandateQuery {
  agent?: string | undefined;
  instance?: string | undefined;
  person?: string | undefined;
  state?: 'live' | 'ended' | 'all' | undefined;
  limit: number;
  cursor?: string | undefined;
}

export interface MandatePage {
  mandates: MandateView[];
  /** Pass as `cursor` for the next page; null on the last. */
  next_cursor: string | null;
}

const encodeCursor = (row: { issued_at: string; jti: string }) => Buffer.from(JSON.stringify([row.issued_at, row.jti])).toString('base64url');

function decodeCursor(cursor: string | undefined): { issued_at: string; jti: string } | undefined {
  if (cursor === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'string' && v.length <= 200)) {
      return { issued_at: value[0] as string, jti: value[1] as string };
    }
  } catch {
    // falls through to the refusal
  }
  throw new MandateError('ERR_CURSOR_INVALID', 'the cursor is not one this API returned');
}

function stateOf(row: MandateInventoryRow, now: string): MandateState {
  if (row.revoked_at !== null) return 'revoked';
  if (row.expires_at <= now) return 'expired';
  if (row.instance_status !== 'active') return 'instance_revoked';
  if (row.agent_status !== 'active') return row.agent_status === 'retired' ? 'agent_retired' : 'agent_suspended';
  return 'live';
}

/**
 * What each mandate may still spend: a delegated mandate also draws on every ancestor's budget
 * (a parent's spend includes its children's), so its left is the least left along its chain, as
 * governance counts it when a call is priced.
 */
async function budgetLeft(db: Queryable, page: readonly MandateInventoryRow[]): Promise<Map<string, number>> {
  const links = new Map<string, { parent: string | null; left: number }>();
  for (const row of page) links.set(row.jti, { parent: row.parent_jti, left: Number(row.budget) - Number(row.spent ?? 0) });
  const inventory = inventoryRepository(db);
  for (let depth = 0; depth < 64; depth++) {
    const missing = [...new Set([...links.values()].map((l) => l.parent).filter((p): p is string => p !== null && !links.has(p)))];
    if (missing.length === 0) break;
    for (const row of await inventory.budgets(missing)) links.set(row.jti, { parent: row.parent_jti, left: Number(row.budget) - Number(row.spent ?? 0) });
    // A parent row that is gone ends the walk there.
    for (const jti of missing) if (!links.has(jti)) links.set(jti, { parent: null, left: Number.POSITIVE_INFINITY });
  }
  const memo = new Map<string, number>();
  const leftOf = (jti: string, seen = 0): number => {
    const cached = memo.get(jti);
    if (cached !== undefined) return cached;
    const link = links.get(jti);
    if (!link) return Number.POSITIVE_INFINITY;
    const left = Math.min(link.left, link.parent === null || seen > 64 ? Number.POSITIVE_INFINITY : leftOf(link.parent, seen + 1));
    memo.set(jti, left);
    return left;
  };
  return new Map(page.map((row) => [row.jti, Math.max(0, leftOf(row.jti))]));
}

function viewOf(row: MandateInventoryRow, children: string[], left: number, now: string): MandateView {
  const limit = Number(row.budget);
  const spent = Number(row.spent ?? 0);
  return {
    jti: row.jti,
    parent_jti: row.parent_jti,
    children,
    agent: row.agent_id,
    instance: row.instance_id,
    person: row.sub,
    scope: row.scope.split(' ').filter((s) => s !== ''),
    audience: JSON.parse(row.aud) as string[],
    budget: { limit, spent, left },
    depth: Number(row.depth),
    task: row.task_id,
    issued_at: row.issued_at,
    expires_at: row.expires_at,
    revoked_at: row.revoked_at,
    state: stateOf(row, now),
  };
}

/** One page of mandates, newest first (keyset paging on issue time and jti). */
export async function listMandates(db: Queryable, query: MandateQuery, now: Date): Promise<MandatePage> {
  const at = now.toISOString();
  const inventory = inventoryRepository(db);
  const rows = await inventory.mandates({
    agentId: query.agent,
    instanceId: query.instance,
    person: query.person,
    state: query.state === 'all' ? undefined : query.state,
    now: at,
    limit: query.limit + 1,
    after: decodeCursor(query.cursor),
  });
  const page = rows.slice(0, query.limit);
  const children = new Map<string, string[]>();
  for (const child of await inventory.children(page.map((r) => r.jti))) children.set(child.parent_jti, [...(children.get(child.parent_jti) ?? []), child.jti]);
  const left = await budgetLeft(db, page);
  return {
    mandates: page.map((row) => viewOf(row, children.get(row.jti) ?? [], left.get(row.jti)!, at)),
    next_cursor: rows.length > query.limit ? encodeCursor(page.at(-1)!) : null,
  };
}

export interface ItemUsage {
  item: string;
  calls: number;
  last_used: string | null;
}

export interface AgentUsage {
  agent: string;
  window_seconds: number;
  since: string;
  /** The agent's latest own activity in the trail (any time), or null. */
  last_activity: string | null;
  /** Each toolset item granted on the card, with the calls the trail shows under it in the window. */
  granted: ItemUsage[];
  /** Granted items with no call in the window: least-privilege candidates. */
  unused: string[];
  /** What was called, by resource, in the window. */
  used: Array<{ resource: string; action: string | null; calls: number; last_used: string }>;
  instances: Array<{ id: string; status: string; created_at: string; revoked_at: string | null; last_activity: string | null }>;
}

/** The scope item a trail resource stands for: `server/tool` or `connection METHOD /path`. */
function itemOfResource(resource: string, action: string | null): ScopeItem | undefined {
  try {
    if (action === 'tools/call') return parseScopeItem(`tool:${resource}`);
    const match = /^([A-Za-z0-9_.-]+) ([A-Z]{1,20}) (\/\S*)$/.exec(resource);
    if (match) return parseScopeItem(`http:${match[1]}:${match[2]}:${match[3]}`);
  } catch {
    // a resource outside the scope grammar is shown under `used` and counts for no item
  }
  return undefined;
}

/** Toolset items granted vs used, from the trail, over `windowSeconds` before `now`. */
export async function agentUsage(db: Queryable, agentId: string, windowSeconds: number, now: Date): Promise<AgentUsage> {
  const card = await getAgent(db, agentId);
  const inventory = inventoryRepository(db);
  const since = new Date(now.getTime() - windowSeconds * 1000).toISOString();
  const used = (await inventory.usage(agentId, since)).map((r) => ({ resource: r.resource ?? '', action: r.action, calls: Number(r.calls), last_used: r.last_used }));
  const granted = card.toolset.map((text) => {
    const item = parseScopeItem(text);
    const under = used.filter((u) => {
      const called = itemOfResource(u.resource, u.action);
      return called !== undefined && coveredBySet(called, [item]);
    });
    const last = under.map((u) => u.last_used).sort().at(-1) ?? null;
    return { item: text, calls: under.reduce((n, u) => n + u.calls, 0), last_used: last };
  });
  const instances = await withLastActivity(
    db,
    (await listInstances(db, { agentId })).map((i) => ({ id: i.id, status: i.status, created_at: i.created_at, revoked_at: i.revoked_at })),
  );
  return {
    agent: agentId,
    window_seconds: windowSeconds,
    since,
    last_activity: (await inventory.agentActivity(agentId)) ?? null,
    granted,
    unused: granted.filter((g) => g.calls === 0).map((g) => g.item),
    used,
    instances,
  };
}

/** Instances with the time of their latest own activity in the trail (null: none yet). */
export async function withLastActivity<T extends { id: string }>(db: Queryable, instances: readonly T[]): Promise<Array<T & { last_activity: string | null }>> {
  const inventory = inventoryRepository(db);
  return Promise.all(instances.map(async (i) => ({ ...i, last_activity: (await inventory.instanceActivity(i.id)) ?? null })));
}
