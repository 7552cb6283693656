import { lifecycleEvidenceRepository, type ResourceUse } from '../store/repositories/lifecycle-evidence.ts';
import type { Queryable } from '../store/store.ts';

/**
 * Least privilege from the trail: which toolset items of an agent card no allowed call used over a
 * window. A tool call is labelled `<server>/<tool>` in the trail and a broker call
 * `<connection> <METHOD> <path>`; a toolset item covers a use when its pattern matches (`*` within
 * one segment, `**` across segments, as scope items are written).
 */
export function usedAs(use: Pick<ResourceUse, 'resource' | 'action'>): string | undefined {
  if (use.action === 'tools/call') return `tool:${use.resource}`;
  const http = /^(\S+) ([A-Z]+) (\/\S*)$/.exec(use.resource);
  return http ? `http:${http[1]}:${http[2]}:${http[3]}` : undefined;
}

const escape = (text: string) => text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');

/** Whether a toolset item (a scope pattern) covers a concrete scope item. */
export function covers(item: string, used: string): boolean {
  if (item === used) return true;
  const pattern = item
    .split('**')
    .map((part) => part.split('*').map(escape).join('[^/]*'))
    .join('.*');
  return new RegExp(`^${pattern}$`).test(used);
}

/** The toolset items no use covers. */
export function unusedItems(toolset: readonly string[], uses: readonly string[]): string[] {
  return toolset.filter((item) => !uses.some((used) => covers(item, used)));
}

/** Per agent: the scope items its allowed calls used since `since`. */
export async function usesSince(db: Queryable, since: Date, agents?: readonly string[]): Promise<Map<string, string[]>> {
  const byAgent = new Map<string, string[]>();
  for (const use of await lifecycleEvidenceRepository(db).allowedUses(since.toISOString(), agents)) {
    const item = usedAs(use);
    if (item) byAgent.set(use.agent, [...(byAgent.get(use.agent) ?? []), item]);
  }
  return byAgent;
}

export const daysBefore = (now: Date, days: number) => new Date(now.getTime() - days * 86_400_000);

/** Per agent: the agents it delegated to (child mandates issued) since `since`. */
export async function delegationsSince(db: Queryable, since: Date, agents?: readonly string[]): Promise<Map<string, Set<string>>> {
  const byAgent = new Map<string, Set<string>>();
  for (const { delegator, delegate } of await lifecycleEvidenceRepository(db).delegations(since.toISOString(), agents)) {
    byAgent.set(delegator, (byAgent.get(delegator) ?? new Set()).add(delegate));
  }
  return byAgent;
}
