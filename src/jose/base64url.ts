// RFC 7515 §2 — base64url encoding without padding (RFC 4648 §5), decoded strictly

const ALPHABET = /^[A-Za-z0-9_-]*$/;
const VALUE = new Map([...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'].map((c, i) => [c, i]));

export const base64url = (bytes: Uint8Array | string): string => {
  const buffer = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  return buffer.toString('base64url');
};

/**
 * Decodes only the canonical encoding: the URL-safe alphabet, no padding, no whitespace, and zero
 * unused trailing bits, so one byte string has exactly one accepted spelling (no signature
 * malleability through the last character). Returns undefined for anything else.
 */
export function decodeBase64url(text: string): Buffer | undefined {
  if (!ALPHABET.test(text)) return undefined;
  const rest = text.length % 4;
  if (rest === 1) return undefined;
  if (rest !== 0) {
    const last = VALUE.get(text[text.length - 1]!)!;
    if ((rest === 2 && (last & 0x0f) !== 0) || (rest === 3 && (last & 0x03) !== 0)) return undefined;
  }
  return Buffer.from(text, 'base64url');
}
