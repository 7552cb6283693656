/**
 * Reads one `.cedar` file: parses it, validates it against the schema (strict mode), and names each
 * policy. Every problem carries the file, line and column Cedar pointed at.
 */
import type { DetailedError } from '@cedar-policy/cedar-wasm/nodejs';
import { policySetTextToParts, policyToJson, validate } from '@cedar-policy/cedar-wasm/nodejs';
import { readAnnotations } from './annotations.ts';
import { type Location, locate, locateIndex } from './location.ts';
import type { Policy, PolicyProblem } from './policy.ts';
import type { Schema } from './schema.ts';

export interface PolicySource {
  /** File name relative to the policy directory, `/`-separated. */
  readonly file: string;
  readonly text: string;
}

export interface PolicyFile {
  readonly policies: readonly Policy[];
  readonly errors: readonly PolicyProblem[];
  readonly warnings: readonly PolicyProblem[];
}

/** Cedar's own policy ids inside one text: `policy0`, `policy1`, … */
const CEDAR_ID = /^policy(\d+)$/;

export function parsePolicyFile(source: PolicySource, schema: Schema): PolicyFile {
  const split = splitPolicies(source);
  if (split.errors.length > 0) return { policies: [], errors: split.errors, warnings: [] };
  const answer = validate({
    schema: schema.text,
    policies: { staticPolicies: source.text },
    validationSettings: { mode: 'strict' },
  });
  if (answer.type === 'failure') {
    return {
      policies: [],
      errors: answer.errors.flatMap((e) => problems(source, e)),
      warnings: [],
    };
  }
  const idOf = (cedarId: string) => split.policies[Number(CEDAR_ID.exec(cedarId)?.[1] ?? -1)]?.id;
  const about = (policyId: string, error: DetailedError) =>
    problems(source, error).map((p) => ({
      ...p,
      policy: idOf(policyId) ?? policyId,
    }));
  return {
    policies: split.policies,
    errors: answer.validationErrors.flatMap((v) => about(v.policyId, v.error)),
    warnings: [
      ...answer.validationWarnings.flatMap((v) => about(v.policyId, v.error)),
      ...answer.otherWarnings.flatMap((e) => problems(source, e)),
    ],
  };
}

function splitPolicies(source: PolicySource): {
  policies: Policy[];
  errors: PolicyProblem[];
} {
  const parts = policySetTextToParts(source.text);
  if (parts.type === 'failure')
    return {
      policies: [],
      errors: parts.errors.flatMap((e) => problems(source, e)),
    };
  const errors: PolicyProblem[] = parts.policy_templates.map((template) => ({
    ...locateIndex(source.file, source.text, Math.max(source.text.indexOf(template), 0)),
    reason: 'templates (policies with ?principal or ?resource slots) are not supported',
  }));
  // Cedar returns the parts sorted by their ids as strings (policy0, policy1, policy10, policy2, …).
  const texts: string[] = [];
  const order = parts.policies.map((_, i) => `policy${i}`).sort();
  order.forEach((cedarId, k) => {
    texts[Number(cedarId.slice('policy'.length))] = parts.policies[k] ?? '';
  });
  const policies: Policy[] = [];
  let cursor = 0;
  texts.forEach((text, index) => {
    const start = source.text.indexOf(text, cursor);
    cursor = start < 0 ? cursor : start + text.length;
    const policy = toPolicy(
      text,
      `${source.file}:${index}`,
      locateIndex(source.file, source.text, Math.max(start, 0)),
    );
    if ('json' in policy) policies.push(policy);
    else errors.push(policy);
  });
  return { policies, errors };
}

function toPolicy(text: string, defaultId: string, at: Location): Policy | PolicyProblem {
  const json = policyToJson(text);
  if (json.type === 'failure') return { ...at, reason: json.errors.map((e) => e.message).join('; ') };
  const annotations = readAnnotations(json.json);
  if (!annotations.ok) return { ...at, reason: annotations.reason, policy: defaultId };
  return {
    id: annotations.value.id ?? defaultId,
    at,
    effect: json.json.effect,
    text,
    json: json.json,
    annotations: json.json.annotations ?? {},
    reason: annotations.value.reason,
    liftableByApproval: annotations.value.liftableByApproval,
    consent: annotations.value.consent,
  };
}

/** Cedar's errors, flattened with their related errors, each placed where Cedar points. */
function problems(source: PolicySource, error: DetailedError): PolicyProblem[] {
  const label = error.sourceLocations?.[0];
  const at = locate(source.file, source.text, label?.start ?? 0);
  const message = error.message
    .replace(/^failed to parse policies from string: /, '')
    .replace(/^for policy `policy\d+`, /, '');
  const reason = [message, label?.label ? `: ${label.label}` : '', error.help ? ` (${error.help})` : ''].join(
    '',
  );
  return [{ ...at, reason }, ...(error.related ?? []).flatMap((r) => problems(source, r))];
}
