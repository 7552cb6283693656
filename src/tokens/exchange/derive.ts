// RFC 8693 §4.1 (act), RFC 8707 — the mandate an agent is handed when another agent calls it through Mandate
import crypto from 'node:crypto';
import { MandateError } from '../../errors.ts';
import { findInstance, type Instance, listInstances } from '../../identity/instances.ts';
import { DEFAULT_MANDATE_SECONDS, TYP } from '../../jose/token-types.ts';
import { signJws } from '../../jose/jws.ts';
import type { AgentCard } from '../../registry/agent-card.ts';
import { findAgent } from '../../registry/agents.ts';
import { mandatesRepository } from '../../store/repositories/mandates.ts';
import type { TokenContext } from '../context.ts';
import type { MandateClaims } from '../mandate.ts';
import { formatScope, narrow, parseScope } from '../scope.ts';

export interface DerivedMandate {
  token: string;
  claims: MandateClaims;
  /** The callee, as its chain names it. */
  agent: AgentCard;
  instance: Instance;
}

const refused = (message: string) => new MandateError('ERR_PEER_IDENTITY', message, { expose: true });

/**
 * The callee of an agent-to-agent hop (person → caller → callee): its instance named by the peer,
 * or else its agent's only active instance. It must stand, as any actor of an exchange must.
 */
export async function calleeOf(ctx: Pick<TokenContext, 'store'>, agentId: string, instanceId: string | undefined): Promise<{ agent: AgentCard; instance: Instance }> {
  const agent = await findAgent(ctx.store.db, agentId);
  if (!agent || agent.status !== 'active') throw refused(`agent ${agentId} is not active`);
  let instance: Instance | undefined;
  if (instanceId !== undefined) instance = await findInstance(ctx.store.db, instanceId);
  else {
    const live = (await listInstances(ctx.store.db, { agentId })).filter((i) => i.status === 'active');
    if (live.length > 1) throw refused(`agent ${agentId} has ${live.length} active instances; the peer must name the one it runs as`);
    instance = live[0];
  }
  if (!instance || instance.status !== 'active' || instance.agent_id !== agentId) throw refused(`agent ${agentId} has no active instance to hand a mandate to`);
  return { agent, instance };
}

/**
 * A token exchange Mandate performs itself for an A2A hop: the caller's mandate is the subject,
 * the callee's instance the actor. The derived mandate is never more than the parent (scope
 * narrowed to the callee's card, the parent's audience, lifetime and budget at most), is bound to
 * the callee's own key (`cnf.jkt`: useless to anyone else) and is a child of the parent in the
 * mandates table, so revoking the caller's mandate ends it (cascade).
 */
export async function deriveMandate(ctx: TokenContext, parent: MandateClaims, callee: { agent: AgentCard; instance: Instance }, now: Date): Promise<DerivedMandate> {
  const { agent, instance } = callee;
  if (parent.depth + 1 > ctx.maxDelegationDepth) {
    throw new MandateError('ERR_DELEGATION_DEPTH', `delegation deeper than ${ctx.maxDelegationDepth} hops is refused`, { expose: true });
  }
  const iat = Math.floor(now.getTime() / 1000);
  const exp = Math.min(parent.exp, iat + agent.max_token_lifetime, iat + DEFAULT_MANDATE_SECONDS);
  if (exp <= iat) throw new MandateError('ERR_GRANT_INVALID', 'the caller’s mandate has no lifetime left', { expose: true });
  const scope = formatScope(narrow(parseScope(parent.scope), parseScope(agent.toolset.join(' '))));
  const claims: MandateClaims = {
    iss: ctx.issuer,
    sub: parent.sub,
    aud: [...parent.aud],
    iat,
    exp,
    jti: crypto.randomBytes(16).toString('base64url'),
    client_id: agent.id,
    scope,
    act: { sub: instance.spiffe_id, agent_id: agent.id, instance_id: instance.id, act: parent.act },
    cnf: { jkt: instance.jkt },
    budget: Math.min(parent.budget, agent.default_budget),
    depth: parent.depth + 1,
    sub_kind: parent.sub_kind,
    parent_jti: parent.jti,
    ...(parent.task ? { task: parent.task } : {}),
    ...(parent.groups && parent.groups.length > 0 ? { groups: parent.groups } : {}),
  };
  const signer = ctx.keys.signer();
  const token = signJws({ typ: TYP.mandate, kid: signer.kid }, { ...claims }, signer.privateKey);
  await ctx.store.transaction(async (trx) => {
    const mandates = mandatesRepository(trx);
    // The parent must still stand when its child is written (see `holdParent` in pipeline.ts).
    if (!(await mandates.holdUnrevoked(parent.jti))) throw new MandateError('ERR_TOKEN_REVOKED', 'mandate has been revoked', { expose: true });
    await mandates.insert({
      jti: claims.jti,
      parent_jti: parent.jti,
      instance_id: instance.id,
      agent_id: agent.id,
      sub: claims.sub,
      scope: claims.scope,
      aud: JSON.stringify(claims.aud),
      budget: claims.budget,
      depth: claims.depth,
      task_id: claims.task?.id ?? null,
      issued_at: now.toISOString(),
      expires_at: new Date(exp * 1000).toISOString(),
      revoked_at: null,
      kid: signer.kid,
    });
  });
  return { token, claims, agent, instance };
}
