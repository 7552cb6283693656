// RFC 9449 §7 — a protected resource verifying a DPoP-bound mandate
import { isMandateError, MandateError } from '../errors.ts';
import type { TokenContext } from './context.ts';
import { verifyDpopProof } from './dpop.ts';
import { delegationPath, type MandateClaims, verifyMandateJwt } from './mandate.ts';
import type { ReplayCache } from './replay-cache.ts';
import { DeferringReplay, type PendingProof } from './pending-proof.ts';
import { mandateEnding, mandateStanding } from './revocation.ts';
import { parseScope, type ScopeItem } from './scope.ts';

/** Who is calling, as every enforcement point sees it: the verified mandate and its chain. */
export interface Principal {
  claims: MandateClaims;
  scope: ScopeItem[];
  /** person → agent instance → sub-agent instance, outermost first. */
  delegation: string[];
  person: string | null;
  /** The person's groups, from the mandate's `groups` claim (empty when none or no person). */
  groups: string[];
  agentId: string;
  instanceId: string;
  /** The DPoP proof, verified but not yet recorded as seen: the call it authorizes records it. */
  proof?: PendingProof;
}

export interface PresentedCredentials {
  authorization: string | undefined;
  dpop: string | undefined;
  htm: string;
  htu: string;
  /** The resource identifier of this enforcement point (the mandate's `aud` must include it). */
  resource: string;
  /**
   * A governed call: the proof's `jti` is recorded with the call's decision (`Principal.proof`),
   * not on its own. Only where the context keeps recent proofs (`recentProofs`).
   */
  deferProof?: boolean;
}

const invalidToken = (message: string) => new MandateError('ERR_TOKEN_INVALID', message);

/** The agent is suspended: every mandate of it was revoked, and none is issued until it is resumed. */
const suspendedMessage = (agentId: string) => `agent ${agentId} is suspended: its mandates are revoked until a person resumes it`;
export const agentSuspended = (agentId: string) => new MandateError('ERR_AGENT_SUSPENDED', suspendedMessage(agentId));

/**
 * The one verification every enforcement point calls: `Authorization: DPoP <mandate>`, our
 * signature, `typ`, issuer, audience, lifetime; the DPoP proof with `ath` and the token's
 * `cnf.jkt`; then standing (not revoked, instance and agent active). Nothing named in a token
 * header is ever fetched.
 */
export async function verifyPresentedMandate(ctx: TokenContext, presented: PresentedCredentials): Promise<Principal> {
  const match = /^DPoP\s+([A-Za-z0-9._~+/-]+=*)$/i.exec(presented.authorization ?? '');
  if (!match) {
    throw /^Bearer\s/i.test(presented.authorization ?? '')
      ? invalidToken('mandates are DPoP-bound: use Authorization: DPoP with a DPoP proof')
      : new MandateError('ERR_TOKEN_MISSING', 'a mandate is required (Authorization: DPoP)');
  }
  if (ctx.sync && !ctx.sync.synchronized) {
    throw new MandateError('ERR_NOT_SYNCHRONIZED', 'this replica is resynchronizing with the database; retry shortly', { expose: true });
  }
  const token = match[1]!;
  const now = ctx.now();
  let claims = ctx.verified?.get(presented.resource, token, now);
  if (!claims) {
    try {
      claims = await ctx.keys.verifyWith(now, (keys) => verifyMandateJwt(token, { issuer: ctx.issuer, audience: presented.resource, keys, now }));
    } catch (error) {
      if (isMandateError(error) && error.code === 'ERR_TOKEN_EXPIRED') await throwIfHeldExpired(ctx, presented, token, error);
      throw error;
    }
    ctx.verified?.set(presented.resource, token, claims);
  }
  const deferring = presented.deferProof && ctx.recentProofs ? new DeferringReplay(ctx.recentProofs, ctx.replay) : undefined;
  await checkProof(ctx, presented, token, claims, now, deferring);
  const read = () => mandateStanding(ctx.store.db, claims.jti);
  const live = ctx.standing ? await ctx.standing.isLive(claims.jti, claims.exp, now, read) : (await read()) === 'live';
  if (!live) {
    // A suspended agent is told so: its operator must resume it, a new mandate will not do.
    const ending = await mandateEnding(ctx.store.db, claims.jti);
    if (ending?.agentStatus === 'suspended') throw new MandateRefused('ERR_AGENT_SUSPENDED', suspendedMessage(ending.agentId), principalOf(claims));
    throw new MandateRefused('ERR_TOKEN_REVOKED', 'mandate has been revoked', principalOf(claims));
  }
  const principal = principalOf(claims);
  if (deferring?.pending) principal.proof = deferring.pending;
  return principal;
}

/**
 * A mandate that is ours, authentic and presented by the holder of its key (the DPoP proof
 * verified) but no longer stands: revoked or expired. Its holder is known, so the enforcement
 * point audits the refusal on the holder's chain like any other refusal.
 */
export class MandateRefused extends MandateError {
  readonly principal: Principal;

  constructor(code: 'ERR_TOKEN_REVOKED' | 'ERR_TOKEN_EXPIRED' | 'ERR_AGENT_SUSPENDED', message: string, principal: Principal) {
    super(code, message);
    this.name = 'MandateRefused';
    this.principal = principal;
  }
}

/** The holder of a refused mandate that was authentic and presented with its key, else undefined. */
export const refusedHolder = (error: unknown): Principal | undefined => (error instanceof MandateRefused ? error.principal : undefined);

/** The principal an enforcement point acts on, from a mandate's verified claims. */
export const principalOf = (claims: MandateClaims): Principal => ({
  claims,
  scope: parseScope(claims.scope),
  delegation: delegationPath(claims),
  person: claims.sub_kind === 'person' ? claims.sub : null,
  groups: claims.sub_kind === 'person' && Array.isArray(claims.groups) ? claims.groups : [],
  agentId: claims.client_id,
  instanceId: claims.act.instance_id,
});

async function checkProof(ctx: TokenContext, presented: PresentedCredentials, token: string, claims: MandateClaims, now: Date, replay: ReplayCache = ctx.replay): Promise<void> {
  if (typeof claims.cnf?.jkt !== 'string') throw invalidToken('mandate is not bound to a key');
  if (!presented.dpop) throw new MandateError('ERR_DPOP_INVALID', 'a DPoP proof is required with a mandate');
  await verifyDpopProof(presented.dpop, {
    htm: presented.htm,
    htu: presented.htu,
    accessToken: token,
    expectedJkt: claims.cnf.jkt,
    now,
    replay,
    ...(ctx.dpopNonces ? { nonce: ctx.dpopNonces.accepted(now) } : {}),
  });
}

/**
 * An expired mandate is refused all the same; when it is otherwise valid (checked as of the second
 * before it expired) and its holder's proof verifies, the refusal names the holder. Anything else
 * about it leaves the expiry error as it is.
 */
async function throwIfHeldExpired(ctx: TokenContext, presented: PresentedCredentials, token: string, expired: MandateError): Promise<void> {
  let claims: MandateClaims;
  try {
    const exp = (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    if (typeof exp !== 'number') return;
    const then = new Date(exp * 1000 - 1000);
    claims = await ctx.keys.verifyWith(then, (keys) => verifyMandateJwt(token, { issuer: ctx.issuer, audience: presented.resource, keys, now: then }));
    await checkProof(ctx, presented, token, claims, ctx.now());
  } catch {
    return;
  }
  throw new MandateRefused('ERR_TOKEN_EXPIRED', expired.message, principalOf(claims));
}
