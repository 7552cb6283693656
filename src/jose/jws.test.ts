import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { base64url } from './base64url.ts';
import { signJws, type VerifyJwsOptions, verifyJws } from './jws.ts';

const now = new Date('2026-11-23T10:00:00Z');
const t = Math.floor(now.getTime() / 1000);
const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
const other = crypto.generateKeyPairSync('ed25519');
const options: VerifyJwsOptions = {
  typ: 'at+jwt',
  issuer: 'https://mandate.example',
  audience: 'https://gateway.example',
  keys: new Map([['k1', publicKey]]),
  now,
};
const claims = { iss: options.issuer, aud: options.audience, sub: 'alice', iat: t, exp: t + 300, jti: 'j1' };
const header = { typ: 'at+jwt', kid: 'k1' };
const mandate = (over: Record<string, unknown> = {}, head: Record<string, unknown> = {}) =>
  signJws({ ...header, ...head } as typeof header, { ...claims, ...over }, privateKey);

/** A token whose header and payload are given as raw JSON text, signed with our key. */
const raw = (headerJson: string, payloadJson: string, key = privateKey) => {
  const input = `${base64url(headerJson)}.${base64url(payloadJson)}`;
  return `${input}.${crypto.sign(null, Buffer.from(input), key).toString('base64url')}`;
};
const rejects = (token: string, code: string, over: Partial<VerifyJwsOptions> = {}) =>
  expect(() => verifyJws(token, { ...options, ...over })).toThrowError(
    expect.objectContaining({ code, status: 401, expose: true }),
  );

describe('signing Mandate tokens', () => {
  it('uses Ed25519 exactly as RFC 8037 appendix A.4 does', () => {
    const key = crypto.createPrivateKey({
      key: { kty: 'OKP', crv: 'Ed25519', d: 'nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' },
      format: 'jwk',
    });
    const input = 'eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc';
    expect(crypto.sign(null, Buffer.from(input), key).toString('base64url')).toBe(
      'hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg',
    );
  });

  it('always writes alg EdDSA first and refuses to sign under another alg', () => {
    const token = mandate();
    expect(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString())).toEqual({
      alg: 'EdDSA',
      typ: 'at+jwt',
      kid: 'k1',
    });
    expect(() => signJws({ ...header, alg: 'none' }, claims, privateKey)).toThrowError(
      expect.objectContaining({ code: 'ERR_TOKEN_ALG' }),
    );
  });
});

describe('verifying Mandate tokens', () => {
  it('returns the header and payload of a valid token', () => {
    expect(verifyJws(mandate(), options)).toEqual({ header: { alg: 'EdDSA', ...header }, payload: claims });
  });

  it('accepts an audience array that contains this recipient and the application/ form of typ', () => {
    expect(verifyJws(mandate({ aud: ['other', options.audience] }, { typ: 'application/AT+JWT' }), options).payload.sub).toBe(
      'alice',
    );
  });

  it('refuses a token over the size limit before parsing it', () => {
    rejects(`${'a'.repeat(9000)}.b.c`, 'ERR_TOKEN_TOO_LARGE');
    rejects(mandate(), 'ERR_TOKEN_TOO_LARGE', { maxTokenLength: 100 });
  });

  it('refuses anything but three canonical base64url parts', () => {
    const [h, p, s] = mandate().split('.') as [string, string, string];
    rejects(`${h}.${p}`, 'ERR_TOKEN_MALFORMED');
    rejects(`${h}.${p}.${s}.`, 'ERR_TOKEN_MALFORMED');
    rejects(`${h}.${p}.${s}==`, 'ERR_TOKEN_MALFORMED');
    rejects(`${h} .${p}.${s}`, 'ERR_TOKEN_MALFORMED');
    rejects(`${base64url('[1]')}.${p}.${s}`, 'ERR_TOKEN_MALFORMED');
  });

  it('refuses a signature whose unused trailing bits were changed', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const token = mandate();
    const sameBytes = token.slice(0, -1) + alphabet[alphabet.indexOf(token.at(-1)!) + 1];
    expect(Buffer.from(sameBytes.split('.')[2]!, 'base64url')).toEqual(Buffer.from(token.split('.')[2]!, 'base64url'));
    rejects(sameBytes, 'ERR_TOKEN_MALFORMED');
  });

  it('refuses duplicate members in the header and in the payload', () => {
    rejects(raw('{"alg":"EdDSA","typ":"at+jwt","kid":"k1","kid":"k1"}', JSON.stringify(claims)), 'ERR_TOKEN_DUPLICATE_MEMBER');
    rejects(
      raw('{"alg":"EdDSA","typ":"at+jwt","kid":"k1"}', `${JSON.stringify(claims).slice(0, -1)},"sub":"mallory"}`),
      'ERR_TOKEN_DUPLICATE_MEMBER',
    );
  });

  it('refuses any alg other than EdDSA, including none', () => {
    rejects(mandate({}, { alg: undefined, typ: 'at+jwt' }).replace(/^[^.]+/, base64url('{"alg":"none","typ":"at+jwt","kid":"k1"}')), 'ERR_TOKEN_ALG');
    rejects(raw('{"alg":"Ed25519","typ":"at+jwt","kid":"k1"}', JSON.stringify(claims)), 'ERR_TOKEN_ALG');
  });

  it('refuses a token of another type, or without one', () => {
    rejects(mandate({}, { typ: 'identity+jwt' }), 'ERR_TOKEN_TYP');
    rejects(raw('{"alg":"EdDSA","kid":"k1"}', JSON.stringify(claims)), 'ERR_TOKEN_TYP');
  });

  it('refuses a kid outside the key map, and a missing kid', () => {
    rejects(mandate({}, { kid: 'k2' }), 'ERR_TOKEN_KID');
    rejects(mandate({}, { kid: '__proto__' }), 'ERR_TOKEN_KID');
    rejects(raw('{"alg":"EdDSA","typ":"at+jwt"}', JSON.stringify(claims)), 'ERR_TOKEN_KID');
  });

  it('refuses critical extensions, even ones jose understands', () => {
    rejects(mandate({}, { crit: ['b64'], b64: true }), 'ERR_TOKEN_CRIT');
  });

  it('refuses header parameters that point at a key to trust', () => {
    for (const name of ['jku', 'x5u', 'jwk', 'x5c', 'x5t', 'x5t#S256']) {
      rejects(mandate({}, { [name]: name === 'x5c' ? ['AA'] : 'https://evil.example/keys' }), 'ERR_TOKEN_HEADER');
    }
  });

  it('refuses a tampered payload or a signature by another key', () => {
    const [h, , s] = mandate().split('.') as [string, string, string];
    rejects(`${h}.${base64url(JSON.stringify({ ...claims, sub: 'mallory' }))}.${s}`, 'ERR_TOKEN_SIGNATURE');
    rejects(signJws(header, claims, other.privateKey), 'ERR_TOKEN_SIGNATURE');
  });

  it('refuses the wrong issuer or audience', () => {
    rejects(mandate({ iss: 'https://evil.example' }), 'ERR_TOKEN_ISSUER');
    rejects(mandate({ iss: undefined }), 'ERR_TOKEN_ISSUER');
    rejects(mandate({ aud: 'https://other.example' }), 'ERR_TOKEN_AUDIENCE');
    rejects(mandate({ aud: ['a', 'b'] }), 'ERR_TOKEN_AUDIENCE');
  });

  it('skips the audience check only when the caller passes null', () => {
    expect(verifyJws(mandate({ aud: 'https://other.example' }), { ...options, audience: null }).payload.sub).toBe('alice');
    rejects(mandate({ aud: 'https://other.example' }), 'ERR_TOKEN_AUDIENCE', { audience: '' });
  });

  it('applies the clock skew to nbf only: our tokens expire exactly at exp', () => {
    expect(verifyJws(mandate({ exp: t + 1 }), { ...options, now: new Date(t * 1000) }).payload.sub).toBe('alice');
    rejects(mandate({ exp: t }), 'ERR_TOKEN_EXPIRED', { now: new Date(t * 1000) });
    rejects(mandate({ exp: t - 1 }), 'ERR_TOKEN_EXPIRED', { now: new Date(t * 1000) });
    rejects(mandate({ exp: t - 29 }), 'ERR_TOKEN_EXPIRED');
    expect(verifyJws(mandate({ nbf: t + 30 }), options).payload.sub).toBe('alice');
    rejects(mandate({ nbf: t + 31 }), 'ERR_TOKEN_NOT_YET_VALID');
    rejects(mandate({ exp: t + 5 }), 'ERR_TOKEN_EXPIRED', { clockSkewSeconds: 0, now: new Date((t + 5) * 1000) });
  });

  it('requires exp and NumericDate claims', () => {
    rejects(mandate({ exp: undefined }), 'ERR_TOKEN_MALFORMED');
    rejects(mandate({ exp: String(t + 60) }), 'ERR_TOKEN_MALFORMED');
    rejects(mandate({ iat: 'yesterday' }), 'ERR_TOKEN_MALFORMED');
  });

  it('never puts the token into an error message', () => {
    const token = mandate({ aud: 'nope' });
    try {
      verifyJws(token, options);
      expect.unreachable();
    } catch (error) {
      expect(String((error as Error).message)).not.toContain(token.split('.')[1]!.slice(0, 20));
    }
  });
});
