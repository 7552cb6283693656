// RFC 7662 — token introspection; RFC 7009 — revocation of a presented token
import { decodeJwt } from 'jose';
import { delegationPath, verifyMandateJwt } from './mandate.ts';
import type { TokenContext } from './context.ts';
import { revokeAnnounced } from '../cluster/revoke.ts';
import { mandateStanding, revokeMandates } from './revocation.ts';

/**
 * `{active: true, …claims}` only for a mandate we issued that is unexpired and still standing;
 * anything else — foreign, malformed, expired, revoked — is just `{active: false}` (§2.2).
 */
export async function introspect(ctx: TokenContext, token: string): Promise<Record<string, unknown>> {
  try {
    const now = ctx.now();
    const claims = await ctx.keys.verifyWith(now, (keys) => verifyMandateJwt(token, { issuer: ctx.issuer, keys, now }));
    if ((await mandateStanding(ctx.store.db, claims.jti)) !== 'live') return { active: false };
    return { active: true, token_type: 'DPoP', ...claims, delegation: delegationPath(claims) };
  } catch {
    return { active: false };
  }
}

/** Revoke a mandate we issued and everything derived from it; unknown tokens are ignored (RFC 7009 §2.2). */
export async function revokeToken(ctx: TokenContext, token: string): Promise<string[]> {
  const now = ctx.now();
  let jti: string;
  try {
    // An expired mandate may still be revoked (so its children end too): verify it as of just before expiry.
    const exp = Number(decodeJwt(token).exp);
    const asOf = Number.isFinite(exp) ? new Date(Math.min(now.getTime(), (exp - 1) * 1000)) : now;
    jti = (await ctx.keys.verifyWith(now, (keys) => verifyMandateJwt(token, { issuer: ctx.issuer, keys, now: asOf }))).jti;
  } catch {
    return [];
  }
  const revoked = await revokeAnnounced(ctx.store, ctx.changes, (trx) => revokeMandates(trx, [jti], now));
  if (revoked.length > 0) {
    await ctx.audit.append({
      chain: 'system',
      type: 'token.revoked',
      actor: { instance: null, agent: null, person: null, delegation: [] },
      action: 'token:revoke',
      resource: jti,
      status: 'success',
      data: { resources: revoked },
    });
  }
  return revoked;
}
