// Audit redaction: arguments become salted HMAC digests, known secrets become [REDACTED]
import { createHmac, hkdfSync } from 'node:crypto';
import { MandateError } from '../errors.ts';
import { canonicalize, type JsonValue } from './jcs.ts';

export const REDACTED = '[REDACTED]';
const DIGEST_INFO = 'mandate/audit/args-digest/v1';
const MIN_KEY_BYTES = 32;
/** Unaligned base64 fragments shorter than this would match innocent text. */
const MIN_FRAGMENT = 8;

/**
 * Derive the HMAC key for argument digests from the deployment's audit secret and salt
 * (HKDF-SHA256, RFC 5869). Digests from deployments with different salts cannot be linked.
 */
export function deriveAuditKey(secret: Uint8Array, salt: Uint8Array): Buffer {
  if (secret.length < MIN_KEY_BYTES) throw weakKey();
  return Buffer.from(hkdfSync('sha256', secret, salt, DIGEST_INFO, 32));
}

/**
 * What a tool or HTTP call leaves in the audit trail: an HMAC over the JCS of all its arguments,
 * and in clear only the allow-listed top-level fields (with any known secret scrubbed).
 */
export function digestArguments(
  args: Record<string, unknown>,
  options: { key: Uint8Array; allow: readonly string[]; secrets?: readonly string[] },
): { args_digest: string; args: Record<string, JsonValue> } {
  const digest = searchDigest(args, options.key);
  const kept: Record<string, JsonValue> = {};
  for (const field of options.allow) {
    if (Object.hasOwn(args, field) && args[field] !== undefined) kept[field] = args[field] as JsonValue;
  }
  return { args_digest: digest, args: options.secrets ? scrubSecrets(kept, options.secrets) : kept };
}

/**
 * The digest an investigator computes for a value they already know (a full argument object, as
 * the call sent it) to find the events that carried it, without the trail ever holding it.
 */
export function searchDigest(value: unknown, key: Uint8Array): string {
  if (key.length < MIN_KEY_BYTES) throw weakKey();
  return `hmac-sha256:${createHmac('sha256', key).update(canonicalize(value)).digest('hex')}`;
}

/**
 * Replace every occurrence of a known secret in any string (member names included) deep inside
 * `value` with `[REDACTED]`: the secret as is, JSON-escaped, URL-encoded, and base64 or base64url
 * encoded, including inside longer base64 text such as `Basic` credentials.
 */
export function scrubSecrets<T>(value: T, secrets: readonly string[]): T {
  return secretScrubber(secrets)(value);
}

/**
 * `scrubSecrets` for one set of secrets, its forms and pattern built once: for a connection whose
 * every message is scrubbed.
 */
export function secretScrubber(secrets: readonly string[]): <T>(value: T) => T {
  const forms = [...new Set(secrets.filter((s) => s !== '').flatMap(secretForms))];
  if (forms.length === 0) return (value) => value;
  forms.sort((a, b) => b.length - a.length);
  const pattern = new RegExp(forms.map(escapeRegExp).join('|'), 'g');
  const scrub = (v: unknown): unknown => {
    if (typeof v === 'string') return v.replace(pattern, REDACTED);
    if (Array.isArray(v)) return v.map(scrub);
    if (v !== null && typeof v === 'object' && isPlain(v)) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k.replace(pattern, REDACTED), scrub(x)]));
    }
    return v;
  };
  return <T>(value: T) => scrub(value) as T;
}

function secretForms(secret: string): string[] {
  const uri = encodeURIComponent(secret);
  const forms = [
    secret,
    JSON.stringify(secret).slice(1, -1),
    uri,
    uri.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()),
    uri.replace(/%20/g, '+'),
  ];
  const bytes = Buffer.from(secret);
  forms.push(bytes.toString('base64'), bytes.toString('base64url'));
  // In a longer base64 text the secret may start at any of three byte offsets; keep the characters
  // that depend on the secret's bytes only.
  for (const offset of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64').replace(/=+$/, '');
    const start = [0, 2, 3][offset] as number;
    const end = Math.floor(((offset + bytes.length) * 8) / 6);
    const fragment = encoded.slice(start, end);
    if (fragment.length >= MIN_FRAGMENT) forms.push(fragment, fragment.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return forms;
}

function isPlain(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function weakKey(): MandateError {
  return new MandateError('ERR_AUDIT_KEY_INVALID', `audit key must be at least ${MIN_KEY_BYTES} bytes`);
}
