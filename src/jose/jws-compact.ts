// RFC 7515 §7.1 — JWS compact serialization, parsed strictly
import { decodeBase64url } from './base64url.ts';
import { parseJsonObject } from './strict-json.ts';

export interface CompactJws {
  header: Record<string, unknown>;
  /** ASCII(BASE64URL(header) || '.' || BASE64URL(payload)), what the signature covers (§5.2 step 8). */
  signingInput: Buffer;
  payload: Buffer;
  signature: Buffer;
}

export type CompactFailure = 'too_large' | 'malformed' | 'duplicate_member';
export type CompactResult = { ok: true; jws: CompactJws } | { ok: false; failure: CompactFailure; detail: string };

/**
 * Splits and decodes a compact JWS without trusting any of it: size first, then exactly three
 * canonical base64url parts, then a header that is one JSON object with unique member names.
 * The payload is decoded but not parsed: it is only read after the signature verifies.
 */
export function parseCompact(token: unknown, maxLength: number): CompactResult {
  if (typeof token !== 'string') return { ok: false, failure: 'malformed', detail: 'not a string' };
  if (token.length > maxLength) return { ok: false, failure: 'too_large', detail: `longer than ${maxLength} characters` };
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, failure: 'malformed', detail: 'not three dot-separated parts' };
  const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string];
  const headerBytes = decodeBase64url(encodedHeader);
  const payload = decodeBase64url(encodedPayload);
  const signature = decodeBase64url(encodedSignature);
  if (!headerBytes || !payload || !signature) {
    return { ok: false, failure: 'malformed', detail: 'a part is not canonical base64url' };
  }
  const header = parseJsonObject(headerBytes);
  if (!header.ok) {
    return header.reason === 'duplicate'
      ? { ok: false, failure: 'duplicate_member', detail: `header member ${quote(header.member)} appears twice` }
      : { ok: false, failure: 'malformed', detail: 'header is not a JSON object' };
  }
  const signingInput = Buffer.from(token.slice(0, encodedHeader.length + 1 + encodedPayload.length), 'latin1');
  return { ok: true, jws: { header: header.value, signingInput, payload, signature } };
}

/** A member name taken from untrusted input, bounded for messages. */
export const quote = (name: string): string => JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}…` : name);
