import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';

// PKCS #8 wrapping of a raw Ed25519 seed (RFC 8410 §7).
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** A deterministic Ed25519 key pair from a 32-byte seed, so tests sign the same bytes every run. */
export function keyPairFromSeed(seed: Uint8Array): { privateKey: KeyObject; publicKey: KeyObject } {
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

export const seed = (byte: number) => Buffer.alloc(32, byte);
