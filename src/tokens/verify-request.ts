// RFC 9449 §7 — a protected resource verifying a DPoP-bound mandate
import { MandateError } from '../errors.ts';
import type { TokenContext } from './context.ts';
import { verifyDpopProof } from './dpop.ts';
import { delegationPath, type MandateClaims, verifyMandateJwt } from './mandate.ts';
import { mandateEnding, mandateStanding } from './revocation.ts';
import { parseScope, type ScopeItem } from './scope.ts';

/** Who is calling, as every enforcement point sees it: the verified mandate and its chain. */
export interface Principal {
  claims: MandateClaims;
  scope: ScopeItem[];
  /** person → agent instance → sub-agent instance, outermost first. */
  delegation: string[];
  person: string | null;
  agentId: string;
  instanceId: string;
}

export interface PresentedCredentials {
  authorization: string | undefined;
  dpop: string | undefined;
  htm: string;
  htu: string;
  /** The resource identifier of this enforcement point (the mandate's `aud` must include it). */
  resource: string;
}

const invalidToken = (message: string) => new MandateError('ERR_TOKEN_INVALID', message, { status: 401 });

/** The agent is suspended: every mandate of it was revoked, and none is issued until it is resumed. */
export const agentSuspended = (agentId: string, status = 401) =>
  new MandateError('ERR_AGENT_SUSPENDED', `agent ${agentId} is suspended: its mandates are revoked until a person resumes it`, { status });

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
      : new MandateError('ERR_TOKEN_MISSING', 'a mandate is required (Authorization: DPoP)', { status: 401 });
  }
  if (ctx.sync && !ctx.sync.synchronized) {
    throw new MandateError('ERR_NOT_SYNCHRONIZED', 'this replica is resynchronizing with the database; retry shortly', { status: 503, expose: true });
  }
  const token = match[1]!;
  const now = ctx.now();
  let claims = ctx.verified?.get(presented.resource, token, now);
  if (!claims) {
    claims = await ctx.keys.verifyWith(now, (keys) => verifyMandateJwt(token, { issuer: ctx.issuer, audience: presented.resource, keys, now }));
    ctx.verified?.set(presented.resource, token, claims);
  }
  if (typeof claims.cnf?.jkt !== 'string') throw invalidToken('mandate is not bound to a key');
  if (!presented.dpop) throw new MandateError('ERR_DPOP_INVALID', 'a DPoP proof is required with a mandate', { status: 401 });
  await verifyDpopProof(presented.dpop, {
    htm: presented.htm,
    htu: presented.htu,
    accessToken: token,
    expectedJkt: claims.cnf.jkt,
    now,
    replay: ctx.replay,
  });
  const read = () => mandateStanding(ctx.store.db, claims.jti);
  const live = ctx.standing ? await ctx.standing.isLive(claims.jti, claims.exp, now, read) : (await read()) === 'live';
  if (!live) {
    // A suspended agent is told so: its operator must resume it, a new mandate will not do.
    const ending = await mandateEnding(ctx.store.db, claims.jti);
    if (ending?.agentStatus === 'suspended') throw agentSuspended(ending.agentId);
    throw new MandateError('ERR_TOKEN_REVOKED', 'mandate has been revoked', { status: 401 });
  }
  return {
    claims,
    scope: parseScope(claims.scope),
    delegation: delegationPath(claims),
    person: claims.sub_kind === 'person' ? claims.sub : null,
    agentId: claims.client_id,
    instanceId: claims.act.instance_id,
  };
}
