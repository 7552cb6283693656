import { createHash } from 'node:crypto';

/**
 * Credentials written inline where they should not be (an MCP client's config): recognised key
 * formats first, then long high-entropy tokens. What leaves this module is never the value: a
 * SHA-256 of it (the server keys it again with an HMAC before storing) and a hint that shows the
 * key's recognised prefix and its last four characters.
 */
export interface CredentialSighting {
  /** What the value looks like: `openai`, `github`, `slack`, `aws-access-key`, …, or `high-entropy`. */
  type: string;
  hint: string;
  sha256: string;
}

const FORMATS: ReadonlyArray<{ type: string; pattern: RegExp; prefix: RegExp }> = [
  { type: 'anthropic', pattern: /sk-ant-[A-Za-z0-9_-]{20,}/, prefix: /^sk-ant-/ },
  { type: 'openai', pattern: /sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}/, prefix: /^sk-(?:proj-|svcacct-|admin-)?/ },
  { type: 'github', pattern: /(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})/, prefix: /^(?:gh[pousr]_|github_pat_)/ },
  { type: 'gitlab', pattern: /glpat-[A-Za-z0-9_-]{20,}/, prefix: /^glpat-/ },
  { type: 'slack', pattern: /xox[abposr]-[A-Za-z0-9-]{10,}/, prefix: /^xox[abposr]-/ },
  { type: 'aws-access-key', pattern: /(?:AKIA|ASIA)[A-Z0-9]{16}/, prefix: /^(?:AKIA|ASIA)/ },
  { type: 'google-api-key', pattern: /AIza[A-Za-z0-9_-]{35}/, prefix: /^AIza/ },
  { type: 'stripe', pattern: /(?:sk|rk)_live_[A-Za-z0-9]{20,}/, prefix: /^(?:sk|rk)_live_/ },
  { type: 'bearer-jwt', pattern: /eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/, prefix: /^eyJ/ },
];

/** Shannon entropy in bits per character. */
export function entropy(text: string): number {
  const counts = new Map<string, number>();
  for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) bits -= (n / text.length) * Math.log2(n / text.length);
  return bits;
}

/** A token of at least 24 key-like characters, mixing classes, above 3.5 bits per character. */
const looksRandom = (token: string) =>
  token.length >= 24 && /^[A-Za-z0-9+/=_.~-]+$/.test(token) && /[0-9]/.test(token) && /[A-Za-z]/.test(token) && !/^[a-z_.-]+$/i.test(token) && entropy(token) > 3.5;

const hintOf = (value: string, prefix: RegExp | undefined) => `${prefix?.exec(value)?.[0] ?? ''}…${value.slice(-4)}`;
export const sha256Of = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');

/** A reference resolved elsewhere (`${env:TOKEN}`, `${input:key}`, `$TOKEN`) is not a credential. */
const isReference = (value: string) => /^\$\{[^}]+\}$|^\$[A-Z_][A-Z0-9_]*$/.test(value.trim());

/** Every credential inline in one string. */
export function credentialsIn(value: string): CredentialSighting[] {
  if (isReference(value)) return [];
  const found: CredentialSighting[] = [];
  let rest = value;
  for (const format of FORMATS) {
    for (const match of rest.matchAll(new RegExp(format.pattern.source, 'g'))) {
      found.push({ type: format.type, hint: hintOf(match[0], format.prefix), sha256: sha256Of(match[0]) });
      rest = rest.replace(match[0], ' ');
    }
  }
  for (const token of rest.split(/[\s"',;:=@/?&]+|Bearer|Basic|token/)) {
    if (looksRandom(token)) found.push({ type: 'high-entropy', hint: hintOf(token, undefined), sha256: sha256Of(token) });
  }
  return found;
}

/** The string with every credential in it replaced by its hint (what may be shown or stored). */
export function redactCredentials(value: string): string {
  if (isReference(value)) return value;
  let out = value;
  for (const format of FORMATS) out = out.replace(new RegExp(format.pattern.source, 'g'), (m) => hintOf(m, format.prefix));
  return out.replace(/[A-Za-z0-9+/=_.~-]{24,}/g, (token) => (looksRandom(token) ? hintOf(token, undefined) : token));
}
