import crypto from 'node:crypto';
import { calculateJwkThumbprint, type JWK, SignJWT } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import { base64url } from '../jose/base64url.ts';
import { type VerifyDpopOptions, verifyDpopProof } from './dpop.ts';
import { InMemoryReplayCache } from './replay-cache.ts';

// Proofs are built with jose's SignJWT: an implementation independent of ours.
const now = new Date('2026-11-23T10:00:00Z');
const t = Math.floor(now.getTime() / 1000);
const ed = crypto.generateKeyPairSync('ed25519');
const edJwk = ed.publicKey.export({ format: 'jwk' }) as JWK;
const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ecJwk = ec.publicKey.export({ format: 'jwk' }) as JWK;
const other = crypto.generateKeyPairSync('ed25519');
const accessToken = 'eyJhbGciOiJFZERTQSJ9.e30.c2ln';
const ath = crypto.createHash('sha256').update(accessToken).digest('base64url');

const htu = 'https://mandate.example/oauth/token';
let replay: InMemoryReplayCache;
let options: VerifyDpopOptions;
beforeEach(() => {
  replay = new InMemoryReplayCache({ now: () => now });
  options = { htm: 'POST', htu, now, replay };
});

interface ProofSpec {
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
  key?: crypto.KeyObject | Uint8Array;
}
let counter = 0;
const proof = ({ header = {}, claims = {}, key = ed.privateKey }: ProofSpec = {}) =>
  new SignJWT({ jti: `jti-${++counter}`, htm: 'POST', htu, iat: t, ...claims })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'dpop+jwt', jwk: edJwk, ...header } as never)
    .sign(key);

const refuses = async (p: string | Promise<string>, code: string, over: Partial<VerifyDpopOptions> = {}, why = '') =>
  expect(verifyDpopProof(await p, { ...options, ...over })).rejects.toMatchObject({
    code,
    expose: true,
    message: expect.stringContaining(why),
  });

describe('DPoP proof verification (RFC 9449 §4.3)', () => {
  it('accepts a proof signed with Ed25519 and returns its key thumbprint, jti and iat', async () => {
    const p = await proof({ claims: { jti: 'abc' } });
    expect(await verifyDpopProof(p, options)).toEqual({ jkt: await calculateJwkThumbprint(edJwk), jti: 'abc', iat: t });
  });

  it('accepts the fully-specified alg Ed25519 (RFC 9864) that WebCrypto clients send, with an Ed25519 key only', async () => {
    const p = await proof({ header: { alg: 'Ed25519' }, claims: { jti: 'fully-specified' } });
    expect(await verifyDpopProof(p, options)).toMatchObject({ jkt: await calculateJwkThumbprint(edJwk), jti: 'fully-specified' });
    await refuses(proof({ header: { alg: 'Ed25519', jwk: ecJwk } }), 'ERR_DPOP_INVALID', {}, 'Ed25519 OKP jwk');
  });

  it('accepts a proof signed with ES256', async () => {
    const p = await proof({ header: { alg: 'ES256', jwk: ecJwk }, key: ec.privateKey });
    expect((await verifyDpopProof(p, options)).jkt).toBe(await calculateJwkThumbprint(ecJwk));
  });

  it('compares htu after normalization, ignoring query and fragment', async () => {
    const p = await proof({ claims: { htu: 'HTTPS://Mandate.Example:443/oauth/%74oken?x=1#f' } });
    expect((await verifyDpopProof(p, { ...options, htu: `${htu}?grant=1` })).jti).toMatch(/^jti-/);
  });

  it('refuses a proof replayed with the same jti', async () => {
    const p = await proof();
    await verifyDpopProof(p, options);
    await refuses(p, 'ERR_DPOP_REPLAY');
  });

  it('does not consume the jti of a proof it refuses', async () => {
    const p = await proof();
    await refuses(p, 'ERR_DPOP_HTM', { htm: 'GET' });
    expect(replay.size).toBe(0);
    await expect(verifyDpopProof(p, options)).resolves.toMatchObject({ iat: t });
  });

  it('keeps the jti of different keys apart', async () => {
    await verifyDpopProof(await proof({ claims: { jti: 'same' } }), options);
    const p = await proof({ claims: { jti: 'same' }, header: { alg: 'ES256', jwk: ecJwk }, key: ec.privateKey });
    await expect(verifyDpopProof(p, options)).resolves.toMatchObject({ jti: 'same' });
  });

  it('refuses a method or URI mismatch', async () => {
    await refuses(proof({ claims: { htm: 'post' } }), 'ERR_DPOP_HTM');
    await refuses(proof(), 'ERR_DPOP_HTM', { htm: 'GET' });
    await refuses(proof({ claims: { htu: 'https://mandate.example/oauth/introspect' } }), 'ERR_DPOP_HTU');
    await refuses(proof({ claims: { htu: 'http://mandate.example/oauth/token' } }), 'ERR_DPOP_HTU');
    await refuses(proof({ claims: { htu: 'https://evil.example/oauth/token' } }), 'ERR_DPOP_HTU');
    await refuses(proof({ claims: { htu: 'https://mandate.example:8443/oauth/token' } }), 'ERR_DPOP_HTU');
    await refuses(proof({ claims: { htu: 'https://user@mandate.example/oauth/token' } }), 'ERR_DPOP_HTU');
  });

  it('refuses a proof signed by another key than its jwk header', async () => {
    await refuses(proof({ key: other.privateKey }), 'ERR_DPOP_INVALID', {}, 'signature is invalid');
  });

  it('refuses a proof without a jwk, or with a private one', async () => {
    await refuses(proof({ header: { jwk: undefined } }), 'ERR_DPOP_INVALID', {}, 'jwk header is missing');
    const privateJwk = ed.privateKey.export({ format: 'jwk' });
    await refuses(proof({ header: { jwk: privateJwk } }), 'ERR_DPOP_INVALID', {}, 'private key material');
  });

  it('refuses a jwk that does not fit the algorithm or is not a point on the curve', async () => {
    await refuses(proof({ header: { jwk: ecJwk } }), 'ERR_DPOP_INVALID', {}, 'need an Ed25519 OKP jwk');
    const offCurve = { ...ecJwk, y: base64url(Buffer.alloc(32, 2)) };
    await refuses(proof({ header: { alg: 'ES256', jwk: offCurve }, key: ec.privateKey }), 'ERR_DPOP_INVALID', {}, 'not a valid public key');
  });

  it('refuses a wrong typ', async () => {
    await refuses(proof({ header: { typ: 'jwt' } }), 'ERR_DPOP_INVALID', {}, 'typ must be');
    await refuses(proof({ header: { typ: 'at+jwt' } }), 'ERR_DPOP_INVALID');
  });

  it('refuses alg none and HS256', async () => {
    const [, payload] = (await proof()).split('.');
    const none = `${base64url(JSON.stringify({ alg: 'none', typ: 'dpop+jwt', jwk: edJwk }))}.${payload}.`;
    await refuses(none, 'ERR_DPOP_INVALID', {}, 'alg must be');
    const secret = Buffer.from(edJwk.x!, 'base64url');
    await refuses(proof({ header: { alg: 'HS256' }, key: secret }), 'ERR_DPOP_INVALID', {}, 'alg must be');
  });

  it('refuses critical extensions and duplicate header members', async () => {
    await refuses(proof({ header: { crit: ['b64'], b64: true } }), 'ERR_DPOP_INVALID', {}, 'critical');
    const headerJson = `{"alg":"EdDSA","typ":"dpop+jwt","jwk":${JSON.stringify(edJwk)},"typ":"dpop+jwt"}`;
    const input = `${base64url(headerJson)}.${base64url(JSON.stringify({ jti: 'd', htm: 'POST', htu, iat: t }))}`;
    const signed = `${input}.${crypto.sign(null, Buffer.from(input), ed.privateKey).toString('base64url')}`;
    await refuses(signed, 'ERR_DPOP_INVALID', {}, 'appears twice');
  });

  it('refuses a proof missing jti, htm, htu or iat', async () => {
    for (const claim of ['jti', 'htm', 'htu', 'iat']) {
      await refuses(proof({ claims: { [claim]: undefined } }), 'ERR_DPOP_INVALID');
    }
  });

  it('refuses a stale iat or one too far in the future', async () => {
    await expect(verifyDpopProof(await proof({ claims: { iat: t - 60 } }), options)).resolves.toBeTruthy();
    await refuses(proof({ claims: { iat: t - 61 } }), 'ERR_DPOP_IAT');
    await refuses(proof({ claims: { iat: t + 6 } }), 'ERR_DPOP_IAT');
    await refuses(proof({ claims: { iat: t - 20 } }), 'ERR_DPOP_IAT', { maxAgeSeconds: 10 });
  });

  it('binds the proof to the presented access token through ath', async () => {
    await expect(verifyDpopProof(await proof({ claims: { ath } }), { ...options, accessToken })).resolves.toBeTruthy();
    await refuses(proof({ claims: { ath: base64url(Buffer.alloc(32)) } }), 'ERR_DPOP_ATH', { accessToken });
    await refuses(proof(), 'ERR_DPOP_ATH', { accessToken });
  });

  it('requires the server nonce when one is set', async () => {
    await refuses(proof(), 'ERR_DPOP_NONCE', { nonce: 'n-1' });
    await refuses(proof({ claims: { nonce: 'n-0' } }), 'ERR_DPOP_NONCE', { nonce: 'n-1' });
    await expect(verifyDpopProof(await proof({ claims: { nonce: 'n-0' } }), { ...options, nonce: ['n-0', 'n-1'] })).resolves.toBeTruthy();
  });

  it('refuses a proof signed by a key other than the one the token is bound to', async () => {
    const otherJkt = await calculateJwkThumbprint(other.publicKey.export({ format: 'jwk' }) as JWK);
    await refuses(proof(), 'ERR_DPOP_KEY_MISMATCH', { expectedJkt: otherJkt });
    await expect(verifyDpopProof(await proof(), { ...options, expectedJkt: await calculateJwkThumbprint(edJwk) })).resolves.toBeTruthy();
  });

  it('refuses two DPoP header fields, which Node joins into one value (§4.3 step 1)', async () => {
    await refuses(`${await proof()}, ${await proof()}`, 'ERR_DPOP_INVALID', {}, 'is malformed');
  });

  it('refuses a proof that is too large or not a JWS', async () => {
    await refuses(proof({ claims: { pad: 'x'.repeat(5000) } }), 'ERR_DPOP_INVALID', {}, 'longer than');
    await refuses('not-a-proof', 'ERR_DPOP_INVALID');
  });
});
