import crypto from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import { describe, expect, it } from 'vitest';
import { jwkThumbprint } from './jwk-thumbprint.ts';

// RFC 7638 §3.1, the example RSA key and its SHA-256 thumbprint.
const rfc7638Rsa = {
  kty: 'RSA',
  n:
    '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
  e: 'AQAB',
  alg: 'RS256',
  kid: '2011-04-29',
};

// RFC 8037 Appendix A.1 (public key) and A.3 (its thumbprint).
const rfc8037Ed25519 = { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' };

describe('RFC 7638 JWK thumbprints', () => {
  it('matches the RSA example of RFC 7638 section 3.1', () => {
    expect(jwkThumbprint(rfc7638Rsa)).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });

  it('matches the Ed25519 example of RFC 8037 appendix A.3', () => {
    expect(jwkThumbprint(rfc8037Ed25519)).toBe('kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k');
  });

  it('ignores members that are not required, including a private d', () => {
    expect(jwkThumbprint({ ...rfc8037Ed25519, kid: 'x', use: 'sig', d: 'secret' } as object)).toBe(
      'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k',
    );
  });

  it('agrees with jose for a generated P-256 key', async () => {
    const { publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    expect(jwkThumbprint(jwk)).toBe(await calculateJwkThumbprint(jwk as never, 'sha256'));
  });

  it('refuses unknown key types and missing members with ERR_JWK_INVALID', () => {
    expect(() => jwkThumbprint({ kty: 'oct' })).toThrowError(expect.objectContaining({ code: 'ERR_JWK_INVALID' }));
    expect(() => jwkThumbprint({ kty: 'EC', crv: 'P-256', x: 'AA' })).toThrowError(
      expect.objectContaining({ code: 'ERR_JWK_INVALID', message: expect.stringContaining('"y"') }),
    );
    expect(() => jwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: 1 })).toThrowError(
      expect.objectContaining({ code: 'ERR_JWK_INVALID' }),
    );
  });
});
