import crypto from 'node:crypto';
import { MandateError } from '../errors.ts';
import type { MasterKey } from './master-key.ts';

/**
 * AES-256-GCM envelope for secrets at rest: `v1.<master key id>.<iv>.<ciphertext>.<tag>`
 * (base64url parts). The associated data binds a sealed value to its place (e.g. the row it
 * belongs to), so a ciphertext copied elsewhere does not open.
 */
export function seal(key: MasterKey, plaintext: Buffer | string, associatedData: string): string {
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', key.bytes, iv);
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const parts = [iv, body, cipher.getAuthTag()].map((b) => b.toString('base64url'));
  return ['v1', key.id, ...parts].join('.');
}

export function sealedKeyId(sealed: string): string {
  return sealed.split('.')[1] ?? '';
}

export function unseal(key: MasterKey, sealed: string, associatedData: string): Buffer {
  const [version, keyId, iv, body, tag] = sealed.split('.');
  if (version !== 'v1' || !iv || body === undefined || !tag) {
    throw new MandateError('ERR_SEALED_FORMAT', 'sealed value is malformed');
  }
  if (keyId !== key.id) {
    throw new MandateError('ERR_SEALED_KEY', `sealed under master key ${keyId}, current key is ${key.id}`);
  }
  try {
    const decipher = crypto.createDecipheriv('aes-256-gcm', key.bytes, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(associatedData, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]);
  } catch (cause) {
    throw new MandateError('ERR_SEALED_INTEGRITY', 'sealed value failed authentication', { cause });
  }
}
