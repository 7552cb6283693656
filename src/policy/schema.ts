/**
 * The Cedar schema of Mandate's world (`schema.cedarschema`) and the facts the engine reads from it:
 * which concrete actions exist, the action groups each is in, the resource types it applies to, and
 * the attributes each entity type declares.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { schemaToJson } from '@cedar-policy/cedar-wasm/nodejs';
import { MandateError } from '../errors.ts';
import { type ArgsFragment, type ArgsRecord, EMPTY_ARGS } from './args-schema.ts';

export const NAMESPACE = 'Mandate';

export interface ActionFacts {
  /** Unqualified action id, e.g. `tools/call`. */
  readonly name: string;
  /** Every action group this action is in, transitively (unqualified ids). */
  readonly groups: readonly string[];
  /** Qualified resource types, e.g. `Mandate::Tool`. */
  readonly resourceTypes: readonly string[];
}

export interface Schema {
  readonly text: string;
  /** SHA-256 of the text: names the preparsed schema inside Cedar. */
  readonly digest: string;
  /** Concrete actions: the ones a request can name. */
  readonly actions: ReadonlyMap<string, ActionFacts>;
  /** Every action id (concrete or group) to the concrete actions it covers, itself included. */
  readonly covers: ReadonlyMap<string, readonly string[]>;
  /** Qualified entity type to the attribute names its shape declares. */
  readonly attributes: ReadonlyMap<string, readonly string[]>;
  /** The generated `Args` type (`context.args`): what each argument is typed as. */
  readonly args: ArgsFragment;
  /**
   * The schema text a policy set's version is taken over: the schema without its generated `Args`,
   * so a new pin does not make the same files another version.
   */
  readonly versionText: string;
}

interface ActionJson {
  memberOf?: { id: string }[];
  appliesTo?: { resourceTypes: string[] };
}

export const bundledSchemaText = (): string =>
  readFileSync(new URL('./schema.cedarschema', import.meta.url), 'utf8');

const qualify = (name: string) => `${NAMESPACE}::${name}`;

const ARGS_PLACEHOLDER = 'type Args = {};';

/** Parses a schema in Cedar's human format; the schema must declare the `Mandate` namespace. */
export function loadSchema(text: string = bundledSchemaText(), args: ArgsFragment = EMPTY_ARGS): Schema {
  const versionText = text;
  if (args !== EMPTY_ARGS) {
    if (!text.includes(ARGS_PLACEHOLDER)) throw new MandateError('ERR_SCHEMA_INVALID', `The Cedar schema has no \`${ARGS_PLACEHOLDER}\` to type arguments in`);
    text = text.replace(ARGS_PLACEHOLDER, args.text);
  }
  const answer = schemaToJson(text);
  if (answer.type === 'failure') {
    const reasons = answer.errors.map((e) => e.message).join('; ');
    throw new MandateError('ERR_SCHEMA_INVALID', `The Cedar schema does not parse: ${reasons}`);
  }
  const namespace = answer.json[NAMESPACE];
  if (namespace === undefined) {
    throw new MandateError('ERR_SCHEMA_INVALID', `The Cedar schema has no \`${NAMESPACE}\` namespace`);
  }
  const actionsJson = namespace.actions as Record<string, ActionJson>;
  const parentsOf = (name: string) => (actionsJson[name]?.memberOf ?? []).map((m) => m.id);
  const groupsOf = (name: string): string[] => {
    const seen = new Set<string>();
    const stack = parentsOf(name);
    for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
      if (!seen.has(next)) {
        seen.add(next);
        stack.push(...parentsOf(next));
      }
    }
    return [...seen].sort();
  };

  const actions = new Map<string, ActionFacts>();
  for (const [name, action] of Object.entries(actionsJson)) {
    const resourceTypes = action.appliesTo?.resourceTypes ?? [];
    if (resourceTypes.length > 0) {
      actions.set(name, {
        name,
        groups: groupsOf(name),
        resourceTypes: resourceTypes.map(qualify),
      });
    }
  }
  const covers = new Map<string, string[]>();
  for (const name of Object.keys(actionsJson)) covers.set(name, []);
  for (const action of actions.values()) {
    for (const id of [action.name, ...action.groups]) covers.get(id)?.push(action.name);
  }

  const attributes = new Map<string, string[]>();
  for (const [name, type] of Object.entries(namespace.entityTypes)) {
    const shape = (type as { shape?: { attributes?: Record<string, unknown> } }).shape;
    attributes.set(qualify(name), Object.keys(shape?.attributes ?? {}));
  }
  const digest = createHash('sha256').update(text).digest('hex');
  return { text, digest, actions, covers, attributes, args, versionText };
}

const withArgs = new Map<string, Schema>();
/** The bundled schema with `Args` generated from argument sources; one parsed schema per fragment. */
export function schemaWithArgs(args: ArgsFragment): Schema {
  if (args.text === EMPTY_ARGS.text) return mandateSchema();
  let schema = withArgs.get(args.text);
  if (!schema) {
    schema = loadSchema(bundledSchemaText(), args);
    if (withArgs.size >= 16) withArgs.clear();
    withArgs.set(args.text, schema);
  }
  return schema;
}

export type { ArgsRecord };

let bundled: Schema | undefined;
/** The schema shipped with Mandate, parsed once. */
export const mandateSchema = (): Schema => {
  bundled ??= loadSchema();
  return bundled;
};
