// The audit log's checkpoint key: Ed25519 derived from the master key with HKDF-SHA256 (RFC 5869)
import { createPrivateKey, createPublicKey, hkdfSync } from 'node:crypto';
import { MandateError } from '../errors.ts';
import { encodeVerifierKey, type NoteSigner, type NoteVerifier, parseVerifierKey } from './note.ts';

const INFO = 'mandate/audit/checkpoint-key/v1';
/** PKCS #8 DER prefix of an Ed25519 private key (RFC 8410); the 32-byte seed follows. */
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');

export interface CheckpointKey {
  /** The log's origin and the key's name: `<trust domain>/audit`. */
  origin: string;
  signer: NoteSigner;
  verifier: NoteVerifier;
  /** The verifier key string to publish (`<name>+<key id>+<base64 key>`). */
  vkey: string;
}

export const auditOrigin = (trustDomain: string) => `${trustDomain}/audit`;

/**
 * The key that signs checkpoints. It is derived, not stored: every replica holding the master key
 * signs with the same key without coordination, and an investigator holding the master key can
 * rebuild the verifier key offline. The salt binds it to the trust domain, the info string to
 * this one use, so it shares nothing usable with the sealing key or the audit HMAC key.
 * Rotating the master key rotates this key: keep the old vkey to verify older checkpoints.
 */
export function deriveCheckpointKey(masterKey: Uint8Array, trustDomain: string): CheckpointKey {
  if (masterKey.length < 32) throw new MandateError('ERR_AUDIT_KEY_INVALID', 'master key must be at least 32 bytes');
  const origin = auditOrigin(trustDomain);
  const seed = Buffer.from(hkdfSync('sha256', masterKey, Buffer.from(`mandate audit checkpoints ${trustDomain}`), INFO, 32));
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' });
  const publicKey = createPublicKey(privateKey);
  return {
    origin,
    signer: { name: origin, privateKey },
    verifier: { name: origin, publicKey },
    vkey: encodeVerifierKey(origin, publicKey),
  };
}

/** Trusted verifiers from published vkey strings. */
export function verifiersFrom(vkeys: readonly string[]): NoteVerifier[] {
  return vkeys.map((vkey) => parseVerifierKey(vkey));
}
