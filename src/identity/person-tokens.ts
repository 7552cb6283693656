import crypto from 'node:crypto';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, type JWTPayload, jwtVerify } from 'jose';
import { MandateError } from '../errors.ts';
import { type ClaimMapping, trustedIssuersRepository } from '../store/repositories/trusted-issuers.ts';
import type { Queryable } from '../store/store.ts';
import { signJws, verifyJws } from '../jose/jws.ts';
import { TYP } from '../jose/token-types.ts';
import type { IssuerKeys } from './issuer-keys.ts';
import type { KeyRing } from './key-ring.ts';

/**
 * Person tokens: who an agent acts for. From a trusted OIDC issuer (its JWKS inline, or fetched
 * from where the issuer is configured, never from a URL a token names), or from Mandate's
 * development issuer (`<issuer>/dev`, typ person+jwt), which can be switched off. Our own
 * mandate, identity and proof types are never accepted here.
 */
export interface Person {
  sub: string;
  iss: string;
  exp: number;
  email?: string;
  /** Groups from the verified token's groups claim, as the issuer's mapping names it (entitlements and Cedar `Mandate::Group`s). */
  groups: string[];
  /** The claims the issuer's mapping carries as attributes. */
  attributes?: Record<string, string | number | boolean | string[]>;
}

export const devIssuerOf = (issuer: string) => `${issuer}/dev`;
const PERSON_TOKEN_SECONDS = 3600;
/** The allow-list of issuers trusted before each carried its own (RFC 8725 §3.1). */
const LEGACY_ALGS = ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA', 'Ed25519'];
const OURS = new Set<string>([TYP.mandate, TYP.identity, TYP.attestation, 'dpop+jwt']);

const refused = (message: string) => new MandateError('ERR_SUBJECT_INVALID', message);

const MAX_GROUPS = 64;
const GROUP = /^[A-Za-z0-9_.@:-]{1,200}$/;

/**
 * The `groups` claim, kept only when it is a list of plain group names: a malformed claim is
 * refused rather than read in part, so a person never gains or loses a group by a parsing accident.
 */
export function groupsClaim(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > MAX_GROUPS || !value.every((g) => typeof g === 'string' && GROUP.test(g))) {
    throw refused(`the groups claim must be a list of at most ${MAX_GROUPS} group names`);
  }
  return [...new Set(value as string[])].sort();
}

export function issueDevPersonToken(keys: KeyRing, issuer: string, subject: string, now: Date, ttlSeconds = PERSON_TOKEN_SECONDS, groups: readonly string[] = []) {
  const signer = keys.signer();
  const iat = Math.floor(now.getTime() / 1000);
  const claims = {
    iss: devIssuerOf(issuer),
    sub: subject,
    aud: issuer,
    iat,
    exp: iat + ttlSeconds,
    jti: crypto.randomUUID(),
    email: subject,
    ...(groups.length > 0 ? { groups: groupsClaim(groups) } : {}),
  };
  return { token: signJws({ typ: TYP.person, kid: signer.kid }, claims, signer.privateKey), claims };
}

export interface PersonTokenContext {
  db: Queryable;
  keys: KeyRing;
  issuer: string;
  devIssuer: boolean;
  /** Keys of trusted issuers that publish them; without it only inline keys verify. */
  issuerKeys?: IssuerKeys;
  now: Date;
}

export async function verifyPersonToken(token: string, ctx: PersonTokenContext): Promise<Person> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  let claims: ReturnType<typeof decodeJwt>;
  try {
    header = decodeProtectedHeader(token);
    claims = decodeJwt(token);
  } catch {
    throw refused('subject token is not a JWT');
  }
  if (header.typ === TYP.person) {
    if (!ctx.devIssuer) throw refused('the development issuer is switched off');
    const { payload } = await ctx.keys.verifyWith(ctx.now, (keys) =>
      verifyJws(token, { typ: TYP.person, issuer: devIssuerOf(ctx.issuer), audience: ctx.issuer, keys, now: ctx.now }),
    );
    return { sub: String(payload.sub), iss: String(payload.iss), exp: Number(payload.exp), email: String(payload.email ?? payload.sub), groups: groupsClaim(payload.groups) };
  }
  if (typeof header.typ === 'string' && OURS.has(header.typ.toLowerCase())) throw refused(`a ${header.typ} token is not a person token`);
  const iss = typeof claims.iss === 'string' ? claims.iss : '';
  const trusted = await trustedIssuersRepository(ctx.db).find(iss);
  if (!trusted) throw refused('subject token is from an issuer that is not trusted');
  const keys = ctx.issuerKeys
    ? await ctx.issuerKeys.keysFor(trusted, typeof header.kid === 'string' ? header.kid : undefined)
    : JSON.parse(trusted.jwks ?? '{"keys":[]}');
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, createLocalJWKSet(keys), {
      issuer: trusted.issuer,
      audience: trusted.audiences.length > 0 ? trusted.audiences : ctx.issuer,
      algorithms: trusted.algorithms ?? LEGACY_ALGS,
      currentDate: ctx.now,
      clockTolerance: 30,
      requiredClaims: ['exp'],
    }));
  } catch (error) {
    const code = (error as { code?: string }).code ?? 'ERR_JWT_INVALID';
    throw refused(`subject token from ${trusted.issuer} is not valid (${code})`);
  }
  return mapClaims(payload, trusted.issuer, trusted.claims);
}

const short = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 320;

/** Who the person is, by the issuer's claim mapping: the subject claim must be a non-empty string. */
function mapClaims(payload: JWTPayload, iss: string, mapping: ClaimMapping): Person {
  const sub = payload[mapping.subject];
  if (!short(sub)) throw refused(`subject token from ${iss} has no ${mapping.subject} claim to name the person`);
  const email = payload[mapping.email];
  const groups = groupsClaim(payload[mapping.groups]);
  const attributes: NonNullable<Person['attributes']> = {};
  for (const name of mapping.attributes) {
    const value = payload[name];
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') attributes[name] = value;
    else if (Array.isArray(value)) attributes[name] = value.filter(short);
  }
  return {
    sub,
    iss,
    exp: Number(payload.exp),
    ...(short(email) ? { email } : {}),
    groups,
    ...(mapping.attributes.length > 0 ? { attributes } : {}),
  };
}
