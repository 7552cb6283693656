import crypto from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { MandateError } from '../errors.ts';
import { revokeOperatorToken } from '../store/operators.ts';
import { type ConsoleSessionRow, consoleSessionsRepository } from '../store/repositories/console-sessions.ts';
import { type AdminPrincipal, authenticateAdminTokenId } from './admin-tokens.ts';
import type { ServerContext } from './context.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The console session the caller came with, when it authenticated by cookie. */
    consoleSession?: ConsoleSessionRow;
  }
}

/**
 * Operator console sessions: an HttpOnly, SameSite=Strict cookie holding 256 random bits (Secure,
 * and `__Host-` prefixed, when the server is reached over TLS); the server keeps only its hash. A
 * session acts with an operator API token, so it has exactly that token's roles and ends when the
 * token does. Every mutation made with the cookie must echo the session's CSRF token in
 * `X-CSRF-Token` and come from this origin.
 */
export const SESSION_COOKIE = 'mandate_session';
export const SECURE_SESSION_COOKIE = '__Host-mandate_session';
export const CSRF_HEADER = 'x-csrf-token';
/** A console session lasts a working day at most (and never beyond its token). */
export const SESSION_TTL_MS = 8 * 3600_000;
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

const sha256 = (value: string) => crypto.createHash('sha256').update(value).digest('hex');
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

export const isSecure = (ctx: Pick<ServerContext, 'issuer'>, request: FastifyRequest) => request.protocol === 'https' || ctx.issuer.startsWith('https://');

/** The session id the browser sent, if it looks like one. */
export function sessionIdOf(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    const name = part.slice(0, eq).trim();
    if (name !== SESSION_COOKIE && name !== SECURE_SESSION_COOKIE) continue;
    const value = part.slice(eq + 1).trim();
    if (SESSION_ID.test(value)) return value;
  }
  return undefined;
}

function setCookie(ctx: Pick<ServerContext, 'issuer'>, request: FastifyRequest, reply: FastifyReply, value: string, maxAgeSeconds: number) {
  const secure = isSecure(ctx, request);
  const name = secure ? SECURE_SESSION_COOKIE : SESSION_COOKIE;
  reply.header('set-cookie', `${name}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`);
}

/** Open a session acting with the token `tokenId`; `ownsToken` when the token was issued for it alone. */
export async function openConsoleSession(
  ctx: Pick<ServerContext, 'store' | 'now' | 'issuer'>,
  request: FastifyRequest,
  reply: FastifyReply,
  token: { id: string; expiresAt: string | null; owned: boolean },
): Promise<{ csrf_token: string; expires_at: string }> {
  const now = ctx.now();
  const id = crypto.randomBytes(32).toString('base64url');
  const csrf = crypto.randomBytes(32).toString('base64url');
  const until = Math.min(now.getTime() + SESSION_TTL_MS, token.expiresAt ? Date.parse(token.expiresAt) : Number.POSITIVE_INFINITY);
  const expiresAt = new Date(until).toISOString();
  await ctx.store.transaction(async (trx) => {
    const sessions = consoleSessionsRepository(trx);
    for (const owned of await sessions.purge(now)) await revokeOperatorToken(trx, owned, now);
    await sessions.insert({ id_hash: sha256(id), token_id: token.id, csrf_token: csrf, owns_token: token.owned ? 1 : 0, created_at: now.toISOString(), expires_at: expiresAt });
  });
  setCookie(ctx, request, reply, id, Math.max(1, Math.floor((until - now.getTime()) / 1000)));
  return { csrf_token: csrf, expires_at: expiresAt };
}

/** End the caller's session on the server (and a token issued for it alone); clear the cookie. */
export async function closeConsoleSession(ctx: Pick<ServerContext, 'store' | 'now' | 'issuer'>, request: FastifyRequest, reply: FastifyReply): Promise<boolean> {
  const id = sessionIdOf(request);
  setCookie(ctx, request, reply, '', 0);
  if (!id) return false;
  return ctx.store.transaction(async (trx) => {
    const row = await consoleSessionsRepository(trx).remove(sha256(id));
    if (row?.owns_token === 1) await revokeOperatorToken(trx, row.token_id, ctx.now());
    return row !== undefined;
  });
}

const unauthenticated = () => new MandateError('ERR_UNAUTHENTICATED', 'the console session is not valid (signed out or expired); sign in again');

/** The operator behind a session cookie, with the same roles as the token it acts with. */
export async function authenticateSession(ctx: Pick<ServerContext, 'store' | 'now'>, request: FastifyRequest, id: string): Promise<AdminPrincipal> {
  const now = ctx.now();
  const row = await consoleSessionsRepository(ctx.store.db).find(sha256(id));
  if (!row || row.expires_at <= now.toISOString()) throw unauthenticated();
  const principal = await authenticateAdminTokenId(ctx.store.db, row.token_id, now).catch(() => {
    throw unauthenticated();
  });
  request.consoleSession = row;
  return principal;
}

/**
 * Cross-site request forgery: a mutation made with the cookie must carry the session's CSRF token
 * (which only a page of this origin can read) and, when the browser names its origin, this one.
 * Returns why it is refused, or undefined when it passes.
 */
export function csrfRefusal(ctx: Pick<ServerContext, 'issuer'>, request: FastifyRequest, row: ConsoleSessionRow): string | undefined {
  if (SAFE.has(request.method)) return undefined;
  const origin = request.headers.origin;
  if (origin !== undefined && !sameOrigin(ctx, request, origin)) return `origin ${origin} is not this console's`;
  if (request.headers['sec-fetch-site'] !== undefined && request.headers['sec-fetch-site'] !== 'same-origin') return 'the request did not come from this origin';
  const sent = request.headers[CSRF_HEADER];
  if (typeof sent !== 'string' || sent.length !== row.csrf_token.length) return 'the X-CSRF-Token header is missing or wrong';
  if (!crypto.timingSafeEqual(Buffer.from(sent), Buffer.from(row.csrf_token))) return 'the X-CSRF-Token header is missing or wrong';
  return undefined;
}

/** Whether `origin` is this server as the browser reached it (or as it is published). */
export function sameOrigin(ctx: Pick<ServerContext, 'issuer'>, request: FastifyRequest, origin: string): boolean {
  const own = [`${request.protocol}://${request.headers.host ?? ''}`];
  try {
    own.push(new URL(ctx.issuer).origin);
  } catch {
    // An issuer that is not a URL names no origin.
  }
  return own.includes(origin);
}

/**
 * Login CSRF: a console sign-in through single sign-on finishes only in the browser that started
 * it. Starting it sets a short-lived cookie holding the hash of the login's `state`; the callback
 * refuses a console login whose `state` that browser did not start (a link to someone else's
 * finished login would otherwise sign the victim in as them).
 */
export const LOGIN_BINDING_COOKIE = 'mandate_console_login';
const LOGIN_BINDING_PATH = '/v1/login/callback';

export function bindConsoleLogin(ctx: Pick<ServerContext, 'issuer'>, request: FastifyRequest, reply: FastifyReply, state: string) {
  // Lax, not Strict: the browser comes back to the callback by a top-level redirect from the provider.
  reply.header('set-cookie', `${LOGIN_BINDING_COOKIE}=${sha256(state)}; Path=${LOGIN_BINDING_PATH}; HttpOnly; SameSite=Lax; Max-Age=600${isSecure(ctx, request) ? '; Secure' : ''}`);
}

export function consoleLoginBound(request: FastifyRequest, state: string | undefined): boolean {
  if (!state) return false;
  const sent = (request.headers.cookie ?? '')
    .split(';')
    .map((part) => part.trim())
    .find((part) => part.startsWith(`${LOGIN_BINDING_COOKIE}=`))
    ?.slice(LOGIN_BINDING_COOKIE.length + 1);
  const expected = sha256(state);
  return sent !== undefined && sent.length === expected.length && crypto.timingSafeEqual(Buffer.from(sent), Buffer.from(expected));
}

export function clearConsoleLogin(reply: FastifyReply) {
  // fastify appends a second set-cookie header to the first.
  reply.header('set-cookie', `${LOGIN_BINDING_COOKIE}=; Path=${LOGIN_BINDING_PATH}; HttpOnly; SameSite=Lax; Max-Age=0`);
}
