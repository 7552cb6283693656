/**
 * Policy sets preparsed inside Cedar. cedar-wasm keeps them in its own memory under string ids and
 * has no call to drop one, so ids are reused: an evicted or replaced set is overwritten with an empty
 * set and its id goes back to a pool shared by the process. At most `capacity` sets are live at once (least recently used
 * evicted first).
 */
import { preparsePolicySet } from '@cedar-policy/cedar-wasm/nodejs';
import { MandateError } from '../errors.ts';
import type { Policy } from './policy.ts';

/** Ids released by any owner, shared so that reloads do not grow Cedar's table of ids. */
const free: string[] = [];
let next = 0;

export class PreparsedSets {
  readonly #capacity: number;
  readonly #live = new Map<string, string>();

  constructor(capacity: number) {
    this.#capacity = Math.max(1, capacity);
  }

  get size(): number {
    return this.#live.size;
  }

  /** The Cedar id of the set for `key`, preparsing `policies` on first use (`text` of each). */
  idFor(key: string, policies: readonly Policy[], text: (p: Policy) => string = (p) => p.text): string {
    const hit = this.#live.get(key);
    if (hit !== undefined) {
      this.#live.delete(key);
      this.#live.set(key, hit);
      return hit;
    }
    const id = free.pop() ?? `mandate:policy-set:${next++}`;
    // One text: Cedar names the policies policy0, policy1, … (see `outcome.ts`).
    const answer = preparsePolicySet(id, {
      staticPolicies: policies.map(text).join('\n'),
    });
    if (answer.type === 'failure') {
      free.push(id);
      const reasons = answer.errors.map((e) => e.message).join('; ');
      throw new MandateError('ERR_POLICY_PREPARSE', `Cedar could not preparse a policy set: ${reasons}`);
    }
    this.#live.set(key, id);
    if (this.#live.size > this.#capacity) {
      const [oldest, oldId] = this.#live.entries().next().value as [string, string];
      this.#live.delete(oldest);
      this.#release(oldId);
    }
    return id;
  }

  /** Drops every set (on reload): their memory inside Cedar is freed and their ids reused. */
  clear(): void {
    for (const id of this.#live.values()) this.#release(id);
    this.#live.clear();
  }

  #release(id: string): void {
    preparsePolicySet(id, { staticPolicies: {} });
    free.push(id);
  }
}
