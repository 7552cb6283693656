/**
 * A policy set: the `.cedar` files of the data directory, validated together against the schema and
 * named by a SHA-256 version. A set that exists is valid: loading refuses the whole set, with every
 * problem's file, line and reason, when any file does not parse or validate.
 */
import { createHash } from 'node:crypto';
import { MandateError } from '../errors.ts';
import { formatLocation } from './location.ts';
import type { Policy, PolicyProblem } from './policy.ts';
import { type PolicySource, parsePolicyFile } from './policy-file.ts';
import { mandateSchema, type Schema } from './schema.ts';

export interface PolicySet {
  /** `sha256:<hex>` over the schema and the sorted (file, text) pairs. */
  readonly version: string;
  readonly schema: Schema;
  readonly sources: readonly PolicySource[];
  /** By id, in file order then position in the file. */
  readonly policies: ReadonlyMap<string, Policy>;
  readonly warnings: readonly PolicyProblem[];
}

export interface LoadOptions {
  /** Defaults to the schema shipped with Mandate. */
  readonly schema?: Schema;
}

/** The schema takes part in the version under this name. */
export const SCHEMA_FILE = 'schema.cedarschema';

/** @throws MandateError `ERR_POLICY_INVALID` (400) whose details list `file:line:column` and reason. */
export function loadPolicySet(sources: readonly PolicySource[], options: LoadOptions = {}): PolicySet {
  const schema = options.schema ?? mandateSchema();
  const sorted = [...sources].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  const errors: PolicyProblem[] = [];
  const warnings: PolicyProblem[] = [];
  const policies = new Map<string, Policy>();
  sorted.forEach((source, i) => {
    if (!source.file.endsWith('.cedar')) {
      errors.push({
        file: source.file,
        line: 1,
        column: 1,
        reason: 'policy files must end in .cedar',
      });
    }
    if (sorted[i - 1]?.file === source.file) {
      errors.push({
        file: source.file,
        line: 1,
        column: 1,
        reason: 'the same file name is given twice',
      });
    }
    const parsed = parsePolicyFile(source, schema);
    errors.push(...parsed.errors);
    warnings.push(...parsed.warnings);
    for (const policy of parsed.policies) {
      const first = policies.get(policy.id);
      if (first === undefined) policies.set(policy.id, policy);
      else
        errors.push({
          ...policy.at,
          policy: policy.id,
          reason: `id already used at ${formatLocation(first.at)}`,
        });
    }
  });
  if (errors.length > 0) throw invalid(errors);
  return {
    version: versionOf(schema, sorted),
    schema,
    sources: sorted,
    policies,
    warnings,
  };
}

function versionOf(schema: Schema, sources: readonly PolicySource[]): string {
  const pairs = [[SCHEMA_FILE, schema.versionText], ...sources.map((s) => [s.file, s.text])];
  return `sha256:${createHash('sha256').update(JSON.stringify(pairs)).digest('hex')}`;
}

function invalid(problems: readonly PolicyProblem[]): MandateError {
  const details = problems.map((p) => ({
    path: formatLocation(p),
    message: p.policy === undefined ? p.reason : `${p.policy}: ${p.reason}`,
  }));
  const first = details[0];
  const more = details.length > 1 ? ` (and ${details.length - 1} more)` : '';
  return new MandateError('ERR_POLICY_INVALID', `${first?.path}: ${first?.message}${more}`, {
    details,
  });
}
