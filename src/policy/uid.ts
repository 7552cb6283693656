/** Cedar entity uids as Mandate passes them around: a qualified type and an id. */
import type { EntityUidJson } from '@cedar-policy/cedar-wasm/nodejs';
import { NAMESPACE } from './schema.ts';

export interface Uid {
  /** Qualified, e.g. `Mandate::Tool`. */
  readonly type: string;
  readonly id: string;
}

export const uid = (type: string, id: string): Uid => ({
  type: `${NAMESPACE}::${type}`,
  id,
});

/** Cedar's own spelling, `Mandate::Tool::"github/create_issue"`: a map key and a readable name. */
export const uidKey = (u: Uid) => `${u.type}::${JSON.stringify(u.id)}`;

export const fromJson = (json: EntityUidJson): Uid => ('__entity' in json ? json.__entity : json);
