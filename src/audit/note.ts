// C2SP signed-note (c2sp.org/signed-note@v1.0.0) — text signed with Ed25519 keys
import { createHash, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { MandateError } from '../errors.ts';

export interface NoteSigner {
  name: string;
  privateKey: KeyObject;
}

export interface NoteVerifier {
  name: string;
  publicKey: KeyObject;
}

export interface NoteSignature {
  name: string;
  /** The 4-byte key ID as 8 hex digits. */
  keyId: string;
  signature: Buffer;
}

const ED25519 = 0x01;
const EM_DASH = '\u2014';
const MAX_SIGNATURES = 64;
const MAX_NOTE_BYTES = 1 << 20;
// "MUST NOT contain any ASCII control characters (those below U+0020) other than newline."
const FORBIDDEN = /[\x00-\x09\x0b-\x1f]|\p{Cs}/u;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const malformed = (message: string) => new MandateError('ERR_NOTE_MALFORMED', message);
const badKey = (message: string) => new MandateError('ERR_NOTE_KEY_INVALID', message);

/** key ID = SHA-256(key name || 0x0A || 0x01 || 32-byte Ed25519 public key)[:4] */
export function keyId(name: string, publicKey: KeyObject): Buffer {
  return createHash('sha256')
    .update(`${checkName(name)}\n`)
    .update(Buffer.of(ED25519))
    .update(rawPublicKey(publicKey))
    .digest()
    .subarray(0, 4);
}

/** The verifier key string `<name>+<hex key ID>+<base64(0x01 || public key)>` used by Go's note. */
export function encodeVerifierKey(name: string, publicKey: KeyObject): string {
  const material = Buffer.concat([Buffer.of(ED25519), rawPublicKey(publicKey)]).toString('base64');
  return `${name}+${keyId(name, publicKey).toString('hex')}+${material}`;
}

export function parseVerifierKey(vkey: string): NoteVerifier {
  const [name = '', id = '', material = '', ...rest] = vkey.split('+');
  // The base64 part may itself contain '+'.
  const encoded = [material, ...rest].join('+');
  const bytes = BASE64.test(encoded) ? Buffer.from(encoded, 'base64') : Buffer.alloc(0);
  if (!/^[0-9a-f]{8}$/.test(id) || bytes.length !== 33 || bytes[0] !== ED25519) {
    throw badKey('verifier key is not <name>+<key id>+<base64 Ed25519 key>');
  }
  const publicKey = createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: bytes.subarray(1).toString('base64url') },
    format: 'jwk',
  });
  if (keyId(name, publicKey).toString('hex') !== id) throw badKey('verifier key ID does not match its key');
  return { name, publicKey };
}

/** Sign `text` (which must end in a newline) and return the complete signed note. */
export function signNote(text: string, signer: NoteSigner): string {
  checkText(text);
  const id = keyId(signer.name, signer.privateKey);
  const signature = sign(null, Buffer.from(text), signer.privateKey);
  return `${text}\n${EM_DASH} ${signer.name} ${Buffer.concat([id, signature]).toString('base64')}\n`;
}

/** Split a note into its text and signature lines, checking only the format. Trust nothing yet. */
export function parseNote(note: string): { text: string; signatures: NoteSignature[] } {
  if (Buffer.byteLength(note) > MAX_NOTE_BYTES) throw malformed('note is too large');
  if (FORBIDDEN.test(note)) throw malformed('note contains control characters');
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) throw malformed('note has no signature block');
  const text = note.slice(0, split + 1);
  const lines = note.slice(split + 2, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw malformed('note has too many signatures');
  const signatures = lines.map((line) => {
    const match = /^\u2014 (\S+) (\S+)$/u.exec(line);
    const blob = match && BASE64.test(match[2] as string) ? Buffer.from(match[2] as string, 'base64') : undefined;
    if (!match || !blob || blob.length < 5) throw malformed('note has a malformed signature line');
    return { name: match[1] as string, keyId: blob.subarray(0, 4).toString('hex'), signature: blob.subarray(4) };
  });
  return { text, signatures };
}

/**
 * Verify a note against the keys the caller trusts and return its text. Signatures from unknown
 * keys are ignored (witnesses, rotated keys); a known key whose signature fails rejects the note.
 */
export function openNote(note: string, trusted: readonly NoteVerifier[]): { text: string; signedBy: string[] } {
  const { text, signatures } = parseNote(note);
  const known = trusted.map((v) => ({ ...v, keyId: keyId(v.name, v.publicKey).toString('hex') }));
  const signedBy: string[] = [];
  for (const sig of signatures) {
    const key = known.find((k) => k.name === sig.name && k.keyId === sig.keyId);
    if (!key) continue;
    if (!verify(null, Buffer.from(text), key.publicKey, sig.signature)) {
      throw new MandateError('ERR_NOTE_SIGNATURE_INVALID', `signature by ${key.name} does not verify`);
    }
    signedBy.push(key.name);
  }
  if (signedBy.length === 0) {
    throw new MandateError('ERR_NOTE_UNVERIFIED', 'note carries no signature from a trusted key');
  }
  return { text, signedBy };
}

function checkText(text: string): void {
  if (!text.endsWith('\n') || FORBIDDEN.test(text)) {
    throw malformed('note text must end in a newline and hold no control characters');
  }
}

/** "Key names MUST be non-empty and MUST NOT contain any Unicode spaces or plus (U+002B)." */
function checkName(name: string): string {
  if (!/^[^\s+\p{Cc}]+$/u.test(name)) throw badKey('key name must be non-empty, without spaces or +');
  return name;
}

function rawPublicKey(key: KeyObject): Buffer {
  if (key.asymmetricKeyType !== 'ed25519') throw badKey('note keys must be Ed25519');
  const { x } = key.export({ format: 'jwk' });
  return Buffer.from(x as string, 'base64url');
}
