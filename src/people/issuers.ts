import { z } from 'zod';
import { MandateError } from '../errors.ts';
import { checkJwks, discoverJwksUri } from '../identity/oidc-discovery.ts';
import { checkFetchUrl, type FetchJson } from '../net/fetch-json.ts';
import { type TrustedIssuer, trustedIssuersRepository } from '../store/repositories/trusted-issuers.ts';
import type { Queryable } from '../store/store.ts';

/** RFC 8725 §3.1: an explicit allow-list; never `none`, never a shared-secret HMAC for someone else's tokens. */
export const ISSUER_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;
export const DEFAULT_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'];

const claimName = z.string().regex(/^[A-Za-z0-9_:.\-/]{1,100}$/, 'a claim name: letters, digits and _ : . - /');
const url = z.string().min(1).max(400);

export const issuerSpecSchema = z
  .strictObject({
    issuer: url,
    jwks_uri: z.string().min(1).max(2000).optional(),
    jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())).max(100) }).optional(),
    audiences: z.array(z.string().min(1).max(400)).max(20).default([]),
    algorithms: z.array(z.enum(ISSUER_ALGORITHMS)).min(1).max(ISSUER_ALGORITHMS.length).default(DEFAULT_ALGORITHMS as never),
    claims: z
      .strictObject({
        subject: claimName.default('sub'),
        email: claimName.default('email'),
        groups: claimName.default('groups'),
        attributes: z.array(claimName).max(20).default([]),
      })
      .default({ subject: 'sub', email: 'email', groups: 'groups', attributes: [] }),
    allow_loopback: z.boolean().default(false),
  })
  .refine((s) => !(s.jwks && s.jwks_uri), { message: 'give jwks_uri or jwks, not both (neither: OIDC discovery)' });

export type IssuerSpec = z.output<typeof issuerSpecSchema>;

const invalid = (message: string) => new MandateError('ERR_ISSUER_INVALID', message);

/** What the API shows of an issuer: where its keys come from, never the cached keys themselves. */
export function issuerView(t: TrustedIssuer) {
  const { jwks, ...rest } = t;
  const kids = jwks ? checkJwks(JSON.parse(jwks)).keys.map((k) => k.kid ?? null) : undefined;
  return { ...rest, ...(kids ? { inline_kids: kids } : {}) };
}

/**
 * Trust an issuer for person tokens. Its keys are inline, or fetched now, through the address
 * guard, from its JWKS URI or the one its discovery document names, so an issuer that cannot
 * serve keys (or lives at an address it may not) is refused before anyone relies on it.
 */
export async function addIssuer(
  db: Queryable,
  input: { spec: IssuerSpec; ours: string[]; by: string; now: Date; fetch: FetchJson },
): Promise<TrustedIssuer> {
  const { spec } = input;
  let parsed: URL;
  try {
    parsed = new URL(spec.issuer);
  } catch {
    throw invalid('issuer is not an absolute URL');
  }
  if (parsed.search || parsed.hash || parsed.href.replace(/\/$/, '') !== spec.issuer.replace(/\/$/, '')) throw invalid('issuer must be a URL without query or fragment, spelled canonically');
  if (input.ours.includes(spec.issuer)) throw invalid('Mandate does not trust itself as an issuer of person tokens');
  const repo = trustedIssuersRepository(db);
  const exists = () => new MandateError('ERR_ISSUER_EXISTS', `${spec.issuer} is trusted already`);
  if (await repo.find(spec.issuer)) throw exists();

  let source: TrustedIssuer['source'] = 'inline';
  let jwksUri: string | null = null;
  if (spec.jwks) checkJwks(spec.jwks);
  else {
    checkFetchUrl(spec.issuer, spec.allow_loopback);
    source = spec.jwks_uri ? 'jwks_uri' : 'discovery';
    jwksUri = spec.jwks_uri ?? (await discoverJwksUri(spec.issuer, input.fetch, spec.allow_loopback));
    checkJwks(await input.fetch(jwksUri, { allowLoopback: spec.allow_loopback }));
  }
  const issuer: TrustedIssuer = {
    issuer: spec.issuer,
    source,
    jwks_uri: jwksUri,
    jwks: spec.jwks ? JSON.stringify(spec.jwks) : null,
    audiences: spec.audiences,
    algorithms: spec.algorithms,
    claims: spec.claims,
    allow_loopback: spec.allow_loopback,
    created_at: input.now.toISOString(),
    created_by: input.by,
  };
  if (!(await repo.add(issuer))) throw exists();
  return issuer;
}

export async function getIssuer(db: Queryable, issuer: string): Promise<TrustedIssuer> {
  const found = await trustedIssuersRepository(db).find(issuer);
  if (!found) throw new MandateError('ERR_ISSUER_NOT_FOUND', `${issuer.slice(0, 400)} is not a trusted issuer`);
  return found;
}

export async function removeIssuer(db: Queryable, issuer: string): Promise<void> {
  if (!(await trustedIssuersRepository(db).remove(issuer))) throw new MandateError('ERR_ISSUER_NOT_FOUND', `${issuer.slice(0, 400)} is not a trusted issuer`);
}

export const allIssuers = (db: Queryable) => trustedIssuersRepository(db).all();
