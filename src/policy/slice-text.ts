/**
 * The text a policy is preparsed with inside a slice. A slice serves one concrete action, and a
 * policy is in it only when its action scope covers that action, so for that slice an `action in
 * […]` scope is always true: it is widened to `action`, and Cedar needs no action hierarchy (one
 * entity and its parents fewer per call) to evaluate it.
 */
import { policyToText } from '@cedar-policy/cedar-wasm/nodejs';
import type { Policy } from './policy.ts';

const texts = new WeakMap<Policy, string>();

export function sliceText(policy: Policy): string {
  if (policy.json.action.op !== 'in') return policy.text;
  let text = texts.get(policy);
  if (text === undefined) {
    const answer = policyToText({ ...policy.json, action: { op: 'All' } });
    text = answer.type === 'success' ? answer.text : policy.text;
    texts.set(policy, text);
  }
  return text;
}
