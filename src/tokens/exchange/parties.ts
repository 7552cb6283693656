// RFC 8693 §2.1 — the subject and the actor of a token exchange
import { decodeProtectedHeader } from 'jose';
import { type ErrorCode, isMandateError, MandateError } from '../../errors.ts';
import { type IdentityClaims, verifyIdentityToken } from '../../identity/identity-token.ts';
import { findInstance, type Instance } from '../../identity/instances.ts';
import { devIssuerOf, type Person, verifyPersonToken } from '../../identity/person-tokens.ts';
import type { AgentCard } from '../../registry/agent-card.ts';
import { findAgent, getAgent } from '../../registry/agents.ts';
import type { TokenContext } from '../context.ts';
import { type MandateClaims, verifyMandateJwt } from '../mandate.ts';
import type { Remembered, Unremembered } from '../presented-tokens.ts';
import { mandateStanding } from '../revocation.ts';
import { agentSuspended } from '../verify-request.ts';
import { TYP } from '../../jose/token-types.ts';

export interface Actor {
  instance: Instance;
  agent: AgentCard;
  spiffeId: string;
  jkt: string;
}

export type Subject =
  | { kind: 'person'; sub: string; exp: number; dev: boolean; groups: string[] }
  | { kind: 'mandate'; parent: MandateClaims }
  | { kind: 'self'; sub: string; exp: number };

const grant = (code: ErrorCode, message: string) => new MandateError(code, message);

/**
 * The actor token is the instance's identity token, bound to the key that signed the DPoP proof.
 * What its signature proves is remembered until its `exp`; the instance and agent rows are read
 * through the caches the change feed keeps current (with their backstop), so a card edited or an
 * instance revoked is seen as on every other path; the binding to the proof key, every request.
 */
export async function verifyActor(ctx: TokenContext, actorToken: string, proofJkt: string, now: Date): Promise<Actor> {
  const verify = async (): Promise<Remembered<IdentityClaims>> => {
    const claims = await ctx.keys.verifyWith(now, (keys) => verifyIdentityToken(actorToken, { issuer: ctx.issuer, keys, now }));
    return { value: claims, exp: claims.exp, kid: kidOf(actorToken), instance: claims.instance_id, agent: claims.agent_id };
  };
  const claims = ctx.presented ? await ctx.presented.verify('actor', actorToken, now, verify) : (await verify()).value;
  if (claims.cnf?.jkt !== proofJkt) {
    throw new MandateError('ERR_DPOP_KEY_MISMATCH', 'DPoP proof is not signed by the key the actor token is bound to');
  }
  const instance = await instanceOf(ctx, claims.instance_id);
  if (!instance || instance.status !== 'active') throw grant('ERR_ACTOR_REVOKED', 'actor instance is revoked or unknown');
  const agent = await agentOf(ctx, instance.agent_id);
  if (agent?.status === 'suspended') throw agentSuspended(agent.id);
  if (!agent || agent.status !== 'active') throw grant('ERR_ACTOR_REVOKED', `agent ${instance.agent_id} is not active`);
  return { instance, agent, spiffeId: claims.sub, jkt: proofJkt };
}

const instanceOf = (ctx: TokenContext, id: string): Promise<Instance | undefined> =>
  ctx.instances ? ctx.instances.get(id, () => findInstance(ctx.store.db, id), (row) => (row?.status === 'active' ? Infinity : null)) : findInstance(ctx.store.db, id);

async function agentOf(ctx: TokenContext, id: string): Promise<AgentCard | undefined> {
  if (!ctx.cards) return findAgent(ctx.store.db, id);
  try {
    return await ctx.cards.get(id, () => getAgent(ctx.store.db, id));
  } catch (error) {
    if (isMandateError(error) && error.code === 'ERR_AGENT_NOT_FOUND') return undefined;
    throw error;
  }
}

/** The signing key named by a token whose signature has just been verified. */
const kidOf = (token: string): string => String(decodeProtectedHeader(token).kid);

/** The subject: a person's token, a parent mandate (delegation), or the actor itself. */
export async function verifySubject(ctx: TokenContext, token: string, actor: Actor, now: Date): Promise<Subject> {
  let typ: unknown;
  try {
    typ = decodeProtectedHeader(token).typ;
  } catch {
    throw new MandateError('ERR_SUBJECT_INVALID', 'subject token is not a JWT');
  }
  if (typ === TYP.mandate) {
    const parent = await ctx.keys.verifyWith(now, (keys) => verifyMandateJwt(token, { issuer: ctx.issuer, keys, now }));
    if ((await mandateStanding(ctx.store.db, parent.jti)) !== 'live') {
      throw grant('ERR_GRANT_INVALID', 'the parent mandate has been revoked');
    }
    return { kind: 'mandate', parent };
  }
  if (typ === TYP.identity) {
    const verify = async (): Promise<Remembered<{ sub: string; exp: number }>> => {
      const claims = await ctx.keys.verifyWith(now, (keys) => verifyIdentityToken(token, { issuer: ctx.issuer, keys, now }));
      return { value: { sub: claims.sub, exp: claims.exp }, exp: claims.exp, kid: kidOf(token), instance: claims.instance_id, agent: claims.agent_id };
    };
    const self = ctx.presented ? await ctx.presented.verify('self', token, now, verify) : (await verify()).value;
    if (self.sub !== actor.spiffeId) throw grant('ERR_SUBJECT_INVALID', 'an identity token subject must be the actor itself');
    return { kind: 'self', sub: self.sub, exp: self.exp };
  }
  const verify = async (): Promise<Remembered<Person> | Unremembered<Person>> => {
    const person = await verifyPersonToken(token, { db: ctx.store.db, keys: ctx.keys, issuer: ctx.issuer, devIssuer: ctx.devIssuer, ...(ctx.issuerKeys ? { issuerKeys: ctx.issuerKeys } : {}), now });
    // Only tokens signed by our keys are remembered: the feed announces their withdrawal, while
    // nothing announces a change of a trusted issuer's row, so those are verified every time.
    return person.iss === devIssuerOf(ctx.issuer) ? { value: person, exp: person.exp, kid: kidOf(token) } : { value: person };
  };
  const person = ctx.presented ? await ctx.presented.verify('person', token, now, verify) : (await verify()).value;
  return { kind: 'person', sub: person.sub, exp: person.exp, dev: person.iss === devIssuerOf(ctx.issuer), groups: person.groups };
}
