import crypto, { type KeyObject } from 'node:crypto';
import { expect } from 'vitest';
import { createDpopProof, type DpopKeyPair } from '../src/sdk/dpop.ts';
import type { AgentRuntime } from '../src/sdk/runtime.ts';
import { TOKEN_EXCHANGE_GRANT, TOKEN_TYPE } from '../src/jose/token-types.ts';
import { readJson, type TestServer } from './harness.ts';

/** What the attack tests share: forged tokens, raw token requests, and "nothing was issued". */

/** A server as the helpers need it: where to send requests, and its context (issuer, clock, keys, store). */
export type Target = Pick<TestServer, 'url' | 'ctx'>;

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** How a forged token is signed: an Ed25519 key, HMAC-SHA256 with a secret, or not at all. */
export type Forger = KeyObject | { hs256: Buffer } | 'none';

/** A compact JWS with any header and payload, signed as the attacker chooses. */
export function forge(header: Record<string, unknown>, payload: Record<string, unknown>, signer: Forger): string {
  const input = `${b64(header)}.${b64(payload)}`;
  if (signer === 'none') return `${input}.`;
  const signature =
    'hs256' in signer ? crypto.createHmac('sha256', signer.hs256).update(input).digest() : crypto.sign(null, Buffer.from(input), signer);
  return `${input}.${signature.toString('base64url')}`;
}

/** The server's own signing key: for tokens that are genuine except for the claim under test. */
export const serverSigner = (server: Target) => server.ctx.keys.signer();

/** Re-sign genuine claims with the server's key, changing only what the test names. */
export function reissue(server: Target, token: string, changes: { header?: Record<string, unknown>; claims?: Record<string, unknown> }): string {
  const [h, p] = token.split('.') as [string, string];
  const header = { ...JSON.parse(Buffer.from(h, 'base64url').toString()), ...changes.header };
  const claims = { ...JSON.parse(Buffer.from(p, 'base64url').toString()), ...changes.claims };
  return forge(header, claims, serverSigner(server).privateKey);
}

/** A DPoP proof dated by the server's (possibly shifted) clock. */
export const proofFor = (server: Target, key: DpopKeyPair, htm: string, htu: string, accessToken?: string) =>
  createDpopProof({ privateKey: key.privateKey, publicJwk: key.publicJwk, htm, htu, now: server.ctx.now(), ...(accessToken ? { accessToken } : {}) });

export const tokenUrl = (server: Target) => `${server.ctx.issuer}/oauth/token`;

export interface OAuthAnswer {
  status: number;
  body: { error?: string; error_description?: string; access_token?: string; [name: string]: unknown };
}

/** POST /oauth/token with the form as given (no SDK), and the DPoP header when there is one. */
export async function tokenRequest(server: Target, form: Record<string, string | string[]>, dpop?: string): Promise<OAuthAnswer> {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(form)) for (const v of [value].flat()) body.append(name, v);
  const res = await fetch(`${server.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(dpop ? { dpop } : {}) },
    body,
  });
  return { status: res.status, body: await readJson(res) };
}

/** A well-formed exchange form: person (or parent) token as subject, the runtime's identity as actor. */
export async function exchangeForm(
  runtime: AgentRuntime,
  subjectToken: string,
  resource: string,
  overrides: Record<string, string | undefined> = {},
): Promise<Record<string, string>> {
  const form: Record<string, string | undefined> = {
    grant_type: TOKEN_EXCHANGE_GRANT,
    subject_token: subjectToken,
    subject_token_type: TOKEN_TYPE.jwt,
    actor_token: await runtime.identityToken(),
    actor_token_type: TOKEN_TYPE.jwt,
    scope: 'tool:github/search_issues',
    resource,
    ...overrides,
  };
  return Object.fromEntries(Object.entries(form).filter(([, v]) => v !== undefined)) as Record<string, string>;
}

/** Exchange as the runtime, with a fresh proof from its key unless the test brings its own. */
export async function exchangeAs(
  server: Target,
  runtime: AgentRuntime,
  subjectToken: string,
  resource: string,
  overrides: Record<string, string | undefined> = {},
  dpop: string = proofFor(server, runtime.key, 'POST', tokenUrl(server)),
): Promise<OAuthAnswer> {
  return tokenRequest(server, await exchangeForm(runtime, subjectToken, resource, overrides), dpop);
}

export async function mandateRows(server: Target): Promise<number> {
  const row = await server.ctx.store.db.selectFrom('mandates').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function instanceRows(server: Target): Promise<number> {
  const row = await server.ctx.store.db.selectFrom('instances').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Runs one attack on the token endpoint and asserts the exact wire error, the Mandate code in the
 * `token.refused` event it left, and that no mandate row appeared.
 */
export async function expectRefused(
  server: TestServer,
  attack: () => Promise<OAuthAnswer>,
  expected: { status?: number; error: string; code: string; description?: string | RegExp },
): Promise<OAuthAnswer> {
  const rowsBefore = await mandateRows(server);
  const issuedBefore = server.audit.ofType('token.issued').length;
  const refusedBefore = server.audit.ofType('token.refused').length;
  const answer = await attack();
  expect(answer.status).toBe(expected.status ?? 400);
  expect(answer.body.error).toBe(expected.error);
  expect(answer.body.access_token).toBeUndefined();
  if (expected.description !== undefined) expect(answer.body.error_description).toMatch(expected.description);
  const refusals = server.audit.ofType('token.refused');
  expect(refusals).toHaveLength(refusedBefore + 1);
  expect(refusals.at(-1)!.denial_reason).toBe(expected.code);
  expect(await mandateRows(server)).toBe(rowsBefore);
  expect(server.audit.ofType('token.issued')).toHaveLength(issuedBefore);
  return answer;
}

export const formHeaders = { 'content-type': 'application/x-www-form-urlencoded' };
export const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
