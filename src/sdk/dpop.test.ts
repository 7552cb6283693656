import crypto from 'node:crypto';
import { calculateJwkThumbprint, decodeProtectedHeader, EmbeddedJWK, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { verifyDpopProof } from '../tokens/dpop.ts';
import { InMemoryReplayCache } from '../tokens/replay-cache.ts';
import { createDpopProof, generateDpopKeyPair } from './dpop.ts';

const now = new Date('2026-11-23T10:00:00Z');
const keys = generateDpopKeyPair();
const htu = 'https://mandate.example/oauth/token';

describe('DPoP proofs from an agent runtime', () => {
  it('generates an Ed25519 key pair whose jkt is its RFC 7638 thumbprint', async () => {
    expect(keys.privateKey.asymmetricKeyType).toBe('ed25519');
    expect(keys.publicJwk).toEqual({ kty: 'OKP', crv: 'Ed25519', x: expect.any(String) });
    expect(keys.jkt).toBe(await calculateJwkThumbprint(keys.publicJwk));
  });

  it('creates a proof that Mandate verifies, bound to the key and the access token', async () => {
    const proof = createDpopProof({ ...keys, htm: 'GET', htu: `${htu}?x=1#y`, accessToken: 'at', nonce: 'n1', now });
    const replay = new InMemoryReplayCache({ now: () => now });
    const verified = await verifyDpopProof(proof, {
      htm: 'GET',
      htu,
      accessToken: 'at',
      nonce: 'n1',
      now,
      replay,
      expectedJkt: keys.jkt,
    });
    expect(verified).toMatchObject({ jkt: keys.jkt, iat: now.getTime() / 1000 });
  });

  it('creates a proof that jose verifies against its embedded key, with the RFC 9449 claims', async () => {
    const proof = createDpopProof({ ...keys, htm: 'POST', htu: `${htu}?q#f`, accessToken: 'at', now });
    const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, {
      typ: 'dpop+jwt',
      algorithms: ['EdDSA'],
      currentDate: now,
    });
    expect(protectedHeader).toEqual({ typ: 'dpop+jwt', alg: 'EdDSA', jwk: keys.publicJwk });
    expect(payload).toEqual({
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
      htm: 'POST',
      htu,
      iat: now.getTime() / 1000,
      ath: crypto.createHash('sha256').update('at').digest('base64url'),
    });
  });

  it('uses a fresh jti for every proof', () => {
    const jti = (p: string) => JSON.parse(Buffer.from(p.split('.')[1]!, 'base64url').toString()).jti;
    const a = createDpopProof({ ...keys, htm: 'GET', htu, now });
    const b = createDpopProof({ ...keys, htm: 'GET', htu, now });
    expect(jti(a)).not.toBe(jti(b));
    expect(decodeProtectedHeader(a).jwk).not.toHaveProperty('d');
  });

  it('refuses a key that is not Ed25519', () => {
    const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(() => createDpopProof({ privateKey, publicJwk: keys.publicJwk, htm: 'GET', htu })).toThrowError(TypeError);
  });
});
