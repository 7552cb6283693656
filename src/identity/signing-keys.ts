import crypto from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { signingKeysRepository } from '../store/repositories/signing-keys.ts';
import type { Queryable } from '../store/store.ts';
import type { MasterKey } from './master-key.ts';
import { seal, sealedKeyId, unseal } from './seal.ts';

/**
 * Control-plane signing keys: Ed25519, private parts sealed under the master key, `kid` = the
 * RFC 7638 thumbprint of the public key. One key signs at a time; retired keys stay published
 * until every token they signed has expired; a withdrawn (revoked) key is unpublished at once.
 */
export interface SigningKey {
  kid: string;
  publicJwk: JWK;
  privateKey: crypto.KeyObject;
  publicKey: crypto.KeyObject;
}

export const SIGNING_ALG = 'EdDSA';

const sealContext = (kid: string) => `signing-key:${kid}`;

export async function createSigningKey(db: Queryable, master: MasterKey, now: Date): Promise<SigningKey> {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
  const exported = publicKey.export({ format: 'jwk' }) as JWK;
  const jwk: JWK = { kty: 'OKP', crv: 'Ed25519', x: exported.x! };
  const kid = await calculateJwkThumbprint(jwk, 'sha256');
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  await signingKeysRepository(db).insert({
    kid,
    alg: SIGNING_ALG,
    public_jwk: JSON.stringify({ ...jwk, kid, alg: SIGNING_ALG, use: 'sig' }),
    private_sealed: seal(master, pkcs8, sealContext(kid)),
    created_at: now.toISOString(),
    retired_at: null,
    expires_at: null,
    revoked_at: null,
  });
  return { kid, publicJwk: { ...jwk, kid, alg: SIGNING_ALG, use: 'sig' }, privateKey, publicKey };
}

/** Re-seal every signing key's private part under a new master key; returns how many moved. */
export async function rewrapSigningKeys(db: Queryable, from: MasterKey, to: MasterKey): Promise<number> {
  const keys = signingKeysRepository(db);
  const rows = await keys.list();
  let moved = 0;
  for (const row of rows) {
    if (sealedKeyId(row.private_sealed) === to.id) continue;
    const private_sealed = seal(to, unseal(from, row.private_sealed, sealContext(row.kid)), sealContext(row.kid));
    await keys.reseal(row.kid, private_sealed);
    moved++;
  }
  return moved;
}

/** The key that signs now: the newest one not retired. */
export async function activeSigningKey(db: Queryable, master: MasterKey): Promise<SigningKey | undefined> {
  const row = await signingKeysRepository(db).newestUnretired();
  if (!row) return undefined;
  const pkcs8 = unseal(master, row.private_sealed, sealContext(row.kid));
  const privateKey = crypto.createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  const publicJwk = JSON.parse(row.public_jwk) as JWK;
  return { kid: row.kid, publicJwk, privateKey, publicKey: crypto.createPublicKey(privateKey) };
}

/** Public keys to publish in the JWKS: every key not withdrawn and not yet past its expiry. */
export async function publishedKeys(db: Queryable, now: Date): Promise<JWK[]> {
  const rows = await signingKeysRepository(db).list();
  return rows
    .filter((r) => r.revoked_at === null)
    .filter((r) => r.expires_at === null || Date.parse(r.expires_at) > now.getTime())
    .map((r) => JSON.parse(r.public_jwk) as JWK);
}
