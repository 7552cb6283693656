import { formatGrant, parseGrant, type RoleGrant } from './roles.ts';

/**
 * Which Mandate roles the groups an operator's identity provider names give them
 * (`MANDATE_SSO_ROLE_MAP`): `group=role[:environment]`, comma-separated, a group as often as it
 * has grants (`mandate-approvers=approver:prod,mandate-approvers=auditor`). A group the map does
 * not name gives nothing; a login whose groups give nothing is refused.
 */
export type RoleMap = ReadonlyMap<string, readonly RoleGrant[]>;

export function parseRoleMap(text: string): RoleMap {
  const map = new Map<string, RoleGrant[]>();
  for (const entry of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const at = entry.lastIndexOf('=');
    const group = entry.slice(0, at).trim();
    const grant = at > 0 ? parseGrant(entry.slice(at + 1).trim()) : undefined;
    if (!group || !grant) throw new Error(`invalid configuration MANDATE_SSO_ROLE_MAP: ${JSON.stringify(entry)} is not group=role[:environment]`);
    const grants = map.get(group) ?? [];
    if (!grants.some((g) => formatGrant(g) === formatGrant(grant))) grants.push(grant);
    map.set(group, grants);
  }
  if (map.size === 0) throw new Error('invalid configuration MANDATE_SSO_ROLE_MAP: no group is mapped to a role');
  return map;
}

/** The grants `groups` earn, each once, in the map's order. */
export function grantsForGroups(map: RoleMap, groups: readonly string[]): RoleGrant[] {
  const held = new Set(groups);
  const grants = new Map<string, RoleGrant>();
  for (const [group, mapped] of map) {
    if (!held.has(group)) continue;
    for (const grant of mapped) grants.set(formatGrant(grant), grant);
  }
  return [...grants.values()];
}
