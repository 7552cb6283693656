import crypto from 'node:crypto';
import fc from 'fast-check';
import { jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { signJws, type VerifyJwsOptions, verifyJws } from './jws.ts';

/**
 * Differential test: our verifier accepts and rejects exactly what jose's jwtVerify does with
 * the same expectations, except for the cases listed in `stricter`, where we refuse on purpose.
 */
const now = new Date('2026-11-23T10:00:00.700Z');
const t = Math.floor(now.getTime() / 1000);
const ed = crypto.generateKeyPairSync('ed25519');
const otherEd = crypto.generateKeyPairSync('ed25519');
const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const publicBytes = Buffer.from(ed.publicKey.export({ format: 'jwk' }).x!, 'base64url');

const options: VerifyJwsOptions = {
  typ: 'at+jwt',
  issuer: 'https://mandate.example',
  audience: 'https://gateway.example',
  keys: new Map([['k1', ed.publicKey]]),
  now,
  clockSkewSeconds: 30,
};

type Outcome = { ok: true; payload: unknown } | { ok: false };

function ours(token: string): Outcome {
  try {
    return { ok: true, payload: verifyJws(token, options).payload };
  } catch {
    return { ok: false };
  }
}

async function theirs(token: string): Promise<Outcome> {
  try {
    const { payload } = await jwtVerify(
      token,
      (header) => {
        const key = header.kid === undefined ? undefined : options.keys.get(header.kid);
        if (!key) throw new Error('unknown kid');
        return key;
      },
      {
        algorithms: ['EdDSA'],
        typ: options.typ,
        issuer: options.issuer,
        audience: options.audience ?? undefined,
        clockTolerance: 30,
        currentDate: now,
        requiredClaims: ['exp'],
      },
    );
    return { ok: true, payload };
  } catch {
    return { ok: false };
  }
}

const enc = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

type Signer = 'ed' | 'other-ed' | 'hs256-public-bytes' | 'es256' | 'none';
function sign(header: unknown, payload: unknown, signer: Signer): string {
  const input = `${enc(header)}.${enc(payload)}`;
  const data = Buffer.from(input);
  const signature = {
    ed: () => crypto.sign(null, data, ed.privateKey),
    'other-ed': () => crypto.sign(null, data, otherEd.privateKey),
    'hs256-public-bytes': () => crypto.createHmac('sha256', publicBytes).update(data).digest(),
    es256: () => crypto.sign('sha256', data, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' }),
    none: () => Buffer.alloc(0),
  }[signer]();
  return `${input}.${signature.toString('base64url')}`;
}

const claims = { iss: options.issuer, aud: options.audience, sub: 'alice', iat: t, exp: t + 300 };
const head = { alg: 'EdDSA', typ: 'at+jwt', kid: 'k1' };
const valid = signJws({ typ: 'at+jwt', kid: 'k1' }, claims, ed.privateKey);
const [h, p, s] = valid.split('.') as [string, string, string];
const flip = (part: string, i: number) => part.slice(0, i) + (part[i] === 'A' ? 'B' : 'A') + part.slice(i + 1);

const agreed: Record<string, string> = {
  valid,
  'audience array containing the recipient': sign(head, { ...claims, aud: ['x', options.audience] }, 'ed'),
  'typ in application/ form and upper case': sign({ ...head, typ: 'application/AT+JWT' }, claims, 'ed'),
  'unknown header parameter': sign({ ...head, foo: 1 }, claims, 'ed'),
  'b64 without crit': sign({ ...head, b64: false }, claims, 'ed'),
  'nbf inside the skew': sign(head, { ...claims, nbf: t + 30 }, 'ed'),
  'tampered payload': `${h}.${enc({ ...claims, sub: 'mallory' })}.${s}`,
  'tampered signature': `${h}.${p}.${flip(s, 10)}`,
  'signature by another key': sign(head, claims, 'other-ed'),
  'alg none without signature': sign({ ...head, alg: 'none' }, claims, 'none'),
  'alg none with the EdDSA signature': `${enc({ ...head, alg: 'none' })}.${p}.${s}`,
  'HS256 keyed with the public key bytes': sign({ ...head, alg: 'HS256' }, claims, 'hs256-public-bytes'),
  'ES256 with an EC key': sign({ ...head, alg: 'ES256' }, claims, 'es256'),
  'fully-specified alg Ed25519': sign({ ...head, alg: 'Ed25519' }, claims, 'ed'),
  'wrong typ': sign({ ...head, typ: 'identity+jwt' }, claims, 'ed'),
  'missing typ': sign({ alg: 'EdDSA', kid: 'k1' }, claims, 'ed'),
  expired: sign(head, { ...claims, exp: t - 30 }, 'ed'),
  'not yet valid': sign(head, { ...claims, nbf: t + 31 }, 'ed'),
  'missing exp': sign(head, { ...claims, exp: undefined }, 'ed'),
  'exp as a string': sign(head, { ...claims, exp: String(t + 300) }, 'ed'),
  'wrong audience': sign(head, { ...claims, aud: 'https://other.example' }, 'ed'),
  'missing audience': sign(head, { ...claims, aud: undefined }, 'ed'),
  'wrong issuer': sign(head, { ...claims, iss: 'https://evil.example' }, 'ed'),
  'unknown kid': sign({ ...head, kid: 'k2' }, claims, 'ed'),
  'missing kid': sign({ alg: 'EdDSA', typ: 'at+jwt' }, claims, 'ed'),
  'two parts': `${h}.${p}`,
  'four parts': `${valid}.${s}`,
  'payload is an array': sign(head, [claims], 'ed'),
  'header is not JSON': `${enc('{alg')}.${p}.${s}`,
};

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const sameBytesOtherSpelling = s.slice(0, -1) + alphabet[alphabet.indexOf(s.at(-1)!) + 1];
const duplicate = (json: string, extra: string) => `${json.slice(0, -1)},${extra}}`;

/** Accepted by jose, refused by us on purpose. */
const stricter: Record<string, string> = {
  'exp inside the clock tolerance (our own tokens expire exactly at exp)': sign(head, { ...claims, exp: t - 29 }, 'ed'),
  'duplicate header member (jose keeps the last)': sign(duplicate(JSON.stringify({ ...head, kid: 'k2' }), '"kid":"k1"'), claims, 'ed'),
  'duplicate claim (jose keeps the last)': sign(head, duplicate(JSON.stringify(claims), '"sub":"mallory"'), 'ed'),
  'jku header': sign({ ...head, jku: 'https://evil.example/jwks' }, claims, 'ed'),
  'x5u header': sign({ ...head, x5u: 'https://evil.example/cert' }, claims, 'ed'),
  'jwk header': sign({ ...head, jwk: ed.publicKey.export({ format: 'jwk' }) }, claims, 'ed'),
  'x5c header': sign({ ...head, x5c: ['MIIB'] }, claims, 'ed'),
  'crit naming b64, which jose understands': sign({ ...head, crit: ['b64'], b64: true }, claims, 'ed'),
  'non-zero unused bits in the signature': `${h}.${p}.${sameBytesOtherSpelling}`,
  'padded signature': `${valid}==`,
  'whitespace inside the signature': `${h}.${p}.${s.slice(0, 8)} ${s.slice(8)}`,
  'byte order mark before the header': sign(`\uFEFF${JSON.stringify(head)}`, claims, 'ed'),
};

describe('our verifier against jose jwtVerify', () => {
  for (const [name, token] of Object.entries(agreed)) {
    it(`agrees with jose on: ${name}`, async () => {
      const expected = await theirs(token);
      expect(ours(token)).toEqual(expected);
      if (name === 'valid') expect(expected.ok).toBe(true);
    });
  }

  for (const [name, token] of Object.entries(stricter)) {
    it(`refuses what jose accepts, on purpose: ${name}`, async () => {
      expect((await theirs(token)).ok).toBe(true);
      expect(ours(token).ok).toBe(false);
    });
  }

  const canonical = (token: string) => token.split('.').every((part) => Buffer.from(part, 'base64url').toString('base64url') === part);

  it('agrees with jose on generated headers, claims, signers and single-character tampering', async () => {
    // Mostly valid values, so both accepting and refusing paths are exercised often.
    const mostly = <T>(good: T, ...others: T[]) =>
      fc.oneof({ arbitrary: fc.constant(good), weight: 4 * others.length }, fc.constantFrom(...others));
    const offset = fc.oneof(fc.integer({ min: -45, max: 45 }), fc.constantFrom(-30.5, 29.5, 30.5));
    const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
    const tokenArb = fc.record({
      alg: mostly<string>('EdDSA', 'none', 'HS256', 'ES256', 'Ed25519', 'eddsa'),
      typ: mostly<string | undefined>('at+jwt', 'AT+JWT', 'application/at+jwt', 'identity+jwt', 'jwt', 'x/at+jwt', undefined),
      kid: mostly<string | undefined>('k1', 'k2', 'K1', '', undefined),
      iss: mostly<string | undefined>(options.issuer, `${options.issuer}/`, 'https://evil.example', undefined),
      aud: mostly<unknown>(options.audience, [options.audience], ['x', options.audience], ['x'], [], 'x', 1, undefined),
      exp: fc.oneof(
        { arbitrary: fc.constant<unknown>(t + 300), weight: 3 },
        optional(offset.map((o) => t + o)),
        fc.constant<unknown>(String(t + 60)),
      ),
      nbf: optional(offset.map((o) => t + o)),
      iat: fc.oneof(optional(offset.map((o) => t + o)), fc.constant<unknown>('now')),
      signer: mostly<Signer>('ed', 'other-ed', 'hs256-public-bytes', 'es256', 'none'),
      tamper: fc.oneof(fc.constant(undefined), fc.tuple(fc.nat(), fc.constantFrom(...alphabet))),
    });
    const seen = { accepted: 0, refused: 0, stricter: 0 };
    await fc.assert(
      fc.asyncProperty(tokenArb, async (g) => {
        let token = sign({ alg: g.alg, typ: g.typ, kid: g.kid }, { iss: g.iss, aud: g.aud, exp: g.exp, nbf: g.nbf, iat: g.iat }, g.signer);
        if (g.tamper) {
          const i = g.tamper[0] % token.length;
          if (token[i] !== '.') token = token.slice(0, i) + g.tamper[1] + token.slice(i + 1);
        }
        const mine = ours(token);
        // jose applies its tolerance to exp too; our own tokens end exactly at exp.
        const expiredForUs = typeof g.exp === 'number' && g.exp <= now.getTime() / 1000;
        const compared = canonical(token) && !expiredForUs;
        if (compared) expect(mine).toEqual(await theirs(token));
        else expect(mine.ok).toBe(false);
        seen[compared ? (mine.ok ? 'accepted' : 'refused') : 'stricter']++;
      }),
      { numRuns: 3000 },
    );
    expect(seen.accepted).toBeGreaterThan(200);
    expect(seen.refused).toBeGreaterThan(1000);
  });
});
