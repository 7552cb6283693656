/**
 * Entitlements: a person's rights limit what an agent may do for them. Each group maps to scope
 * items (`tool:github/*`, `http:billing:GET:/invoices/**`); a person's entitlement is the union
 * over the groups of their verified subject token.
 *
 * The switch: while no group has entitlements, there is no person limit (a mandate is what was
 * asked ∩ the card's toolset). Once any group has entitlements, every person's mandate is also
 * limited to their entitlements, and a person in no entitled group gets nothing.
 */
import { z } from 'zod';
import { MandateError } from '../errors.ts';
import { type EntitlementRecord, entitlementsRepository } from '../store/repositories/entitlements.ts';
import type { Queryable } from '../store/store.ts';
import { parseOrThrow } from '../validation.ts';
import { formatScopeItem, parseScopeItem, type ScopeItem } from './scope.ts';

export const GROUP_NAME = /^[A-Za-z0-9_.@:-]{1,200}$/;
export const groupName = z.string().regex(GROUP_NAME, 'a group name: letters, digits and _ . @ : -, at most 200');

const item = z.string().min(1).max(1024).superRefine((text, check) => {
  try {
    parseScopeItem(text);
  } catch (error) {
    check.addIssue({ code: 'custom', message: (error as Error).message });
  }
});
const items = z.array(item).min(1).max(256);

export const entitlementSchema = z.strictObject({ group: groupName, items });
/** The GitOps file: every group's entitlements, applied all or nothing. */
export const entitlementsFileSchema = z.strictObject({ entitlements: z.array(entitlementSchema).max(1000) });

export type EntitlementSpec = z.infer<typeof entitlementSchema>;
export type { EntitlementRecord };

/** Items normalized and without duplicates, as the store keeps them. */
const normalized = (list: readonly string[]) => [...new Set(list.map((i) => formatScopeItem(parseScopeItem(i))))];

export async function setEntitlement(db: Queryable, body: unknown, now: Date): Promise<EntitlementRecord> {
  const spec = parseOrThrow(entitlementSchema, body, 'entitlement');
  const record = { group: spec.group, items: normalized(spec.items), updated_at: now.toISOString() };
  await entitlementsRepository(db).put(record);
  return record;
}

export async function removeEntitlement(db: Queryable, group: string): Promise<void> {
  if (!(await entitlementsRepository(db).remove(group))) {
    throw new MandateError('ERR_ENTITLEMENT_NOT_FOUND', `no entitlements for group ${group}`);
  }
}

export const listEntitlements = (db: Queryable) => entitlementsRepository(db).list();

/** Replace every group's entitlements with the file's, in one transaction: all or nothing. */
export async function applyEntitlements(
  store: { transaction<T>(work: (trx: Queryable) => Promise<T>): Promise<T> },
  body: unknown,
  now: Date,
): Promise<{ groups: string[] }> {
  const file = parseOrThrow(entitlementsFileSchema, body, 'entitlements');
  const groups = file.entitlements.map((e) => e.group);
  const twice = groups.find((g, i) => groups.indexOf(g) !== i);
  if (twice !== undefined) throw new MandateError('ERR_VALIDATION', `group ${twice} is listed twice`);
  const records = file.entitlements.map((e) => ({ group: e.group, items: normalized(e.items), updated_at: now.toISOString() }));
  await store.transaction((trx) => entitlementsRepository(trx).replaceAll(records));
  return { groups };
}

/** What limits a person: their entitled items, or `undefined` when entitlements are not configured. */
export interface PersonLimit {
  items: ScopeItem[];
  /** The person's groups that carry entitlements. */
  entitledGroups: string[];
}

export async function personLimit(db: Queryable, groups: readonly string[]): Promise<PersonLimit | undefined> {
  const repository = entitlementsRepository(db);
  if (!(await repository.configured())) return undefined;
  const records = await repository.ofGroups(groups);
  return { items: records.flatMap((r) => r.items.map(parseScopeItem)), entitledGroups: records.map((r) => r.group) };
}
