// RFC 9110 §5.1, §11.6.2; RFC 7617 — how a connection's credential is injected into a call
import { MandateError } from '../errors.ts';
import type { MasterKey } from '../identity/master-key.ts';
import type { Queryable } from '../store/store.ts';
import { literalCredentialMessage, looksLikeCredential, templateProblem } from './secret-refs.ts';
import { fillTemplate, type SealedSecrets } from './secrets.ts';

/**
 * A connection's injection rules, written as the CLI takes them:
 *   header:<Name>=<template>      e.g. header:Authorization=Bearer {{secret:github_token}}
 *   query:<param>=<template>      e.g. query:api_key={{secret:maps_key}}
 *   basic:<user>:<password>       e.g. basic:{{secret:user}}:{{secret:pass}}   (RFC 7617)
 * Templates hold literal text and `{{secret:name}}` or per-person `{{secret:name/<sub>}}`.
 */
export type InjectRule =
  | { kind: 'header'; name: string; template: string }
  | { kind: 'query'; name: string; template: string }
  | { kind: 'basic'; username: string; password: string };

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/;
/** Headers the broker owns: framing, routing and its own authentication. */
const RESERVED_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'te', 'trailer', 'upgrade', 'proxy-connection', 'expect', 'dpop', 'cookie2', 'content-encoding', 'accept-encoding']);

const invalid = (rule: string, why: string) =>
  new MandateError('ERR_CONNECTION_INJECT', `inject rule ${JSON.stringify(rule.split(/[=:]/)[0] + ':…')} is invalid: ${why}`);

function checkTemplate(rule: string, template: string, name: string): string {
  if (template.length === 0 || template.length > 4096) throw invalid(rule, 'the value must be 1 to 4096 characters');
  const problem = templateProblem(template);
  if (problem) throw invalid(rule, `it holds ${problem}`);
  if (/[\r\n\0]/.test(template)) throw invalid(rule, 'CR, LF and NUL are not allowed');
  if (looksLikeCredential(name, template)) {
    throw new MandateError('ERR_LITERAL_SECRET', literalCredentialMessage(`inject rule ${JSON.stringify(rule.split(/[=:]/)[0] + ':…')}`));
  }
  return template;
}

/** Split `a:b` at the first colon outside `{{…}}`. */
function splitBasic(text: string): [string, string] | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    if (text.startsWith('{{', i)) depth++;
    else if (text.startsWith('}}', i)) depth = Math.max(0, depth - 1);
    else if (text[i] === ':' && depth === 0) return [text.slice(0, i), text.slice(i + 1)];
  }
  return undefined;
}

export function parseInjectRule(rule: string): InjectRule {
  const colon = rule.indexOf(':');
  const kind = rule.slice(0, colon);
  const rest = rule.slice(colon + 1);
  if (kind === 'header' || kind === 'query') {
    const eq = rest.indexOf('=');
    const name = rest.slice(0, eq);
    if (eq <= 0) throw invalid(rule, `expected ${kind}:<name>=<value>`);
    if (kind === 'header' && (!TOKEN.test(name) || RESERVED_HEADERS.has(name.toLowerCase()))) throw invalid(rule, `header ${name} cannot be injected`);
    if (kind === 'query' && !/^[A-Za-z0-9_.~-]{1,100}$/.test(name)) throw invalid(rule, 'query parameter names are letters, digits, _ . ~ -');
    return { kind, name: kind === 'header' ? name.toLowerCase() : name, template: checkTemplate(rule, rest.slice(eq + 1), name) };
  }
  if (kind === 'basic') {
    const parts = splitBasic(rest);
    if (!parts) throw invalid(rule, 'expected basic:<user>:<password>');
    return { kind, username: checkTemplate(rule, parts[0], 'username'), password: checkTemplate(rule, parts[1], 'password') };
  }
  throw invalid(rule, 'expected header:, query: or basic:');
}

/** The header names a connection injects: an agent's own headers of these names are dropped. */
export const injectedHeaderNames = (rules: readonly InjectRule[]): string[] =>
  rules.map((r) => (r.kind === 'header' ? r.name : r.kind === 'basic' ? 'authorization' : '')).filter(Boolean);

export interface Injection {
  headers: Record<string, string>;
  query: Array<[string, string]>;
  /** Every clear value used, plus composed forms (the Basic `user:password`): scrubbed from responses. */
  secrets: string[];
}

const credentialInvalid = () =>
  new MandateError('ERR_BROKER_CREDENTIAL_INVALID', 'the stored credential for this connection cannot be sent in a header (CR, LF, NUL or non-Latin-1 characters)', { expose: true });

/** Fill every rule for this call's person; the values exist only for the life of the call. */
export async function fillInjection(db: Queryable | SealedSecrets, master: MasterKey, rules: readonly InjectRule[], person: string | null): Promise<Injection> {
  const out: Injection = { headers: {}, query: [], secrets: [] };
  const fill = async (template: string) => {
    const filled = await fillTemplate(db, master, template, person);
    out.secrets.push(...filled.secrets);
    return filled.text;
  };
  const headerSafe = (value: string) => {
    if (/[\r\n\0]/.test(value) || /[^\u0000-\u00ff]/.test(value)) throw credentialInvalid();
    return value;
  };
  for (const rule of rules) {
    if (rule.kind === 'header') out.headers[rule.name] = headerSafe(await fill(rule.template));
    else if (rule.kind === 'query') out.query.push([rule.name, await fill(rule.template)]);
    else {
      const pair = `${await fill(rule.username)}:${await fill(rule.password)}`;
      out.secrets.push(pair);
      out.headers.authorization = headerSafe(`Basic ${Buffer.from(pair, 'utf8').toString('base64')}`);
    }
  }
  return out;
}

/** The agent's query with the injected parameters replacing any of the same name. */
export function injectQuery(rawQuery: string, query: ReadonlyArray<[string, string]>): string {
  if (query.length === 0) return rawQuery;
  const names = new Set(query.map(([name]) => name));
  const nameOf = (pair: string) => {
    try {
      return decodeURIComponent(pair.split('=')[0]!.replace(/\+/g, ' '));
    } catch {
      return pair;
    }
  };
  const kept = rawQuery.split('&').filter((pair) => pair !== '' && !names.has(nameOf(pair)));
  return [...kept, ...query.map(([name, value]) => `${name}=${encodeURIComponent(value)}`)].join('&');
}
