// RFC 8693 — OAuth 2.0 Token Exchange: how an agent instance obtains a mandate
import crypto from 'node:crypto';
import { type AuditRecord, instanceChain, SYSTEM_CHAIN } from '../../audit/writer.ts';
import { isMandateError, MandateError } from '../../errors.ts';
import { mandatesRepository } from '../../store/repositories/mandates.ts';
import type { Queryable } from '../../store/store.ts';
import type { TokenContext } from '../context.ts';
import { verifyDpopProof } from '../dpop.ts';
import { DeferringReplay, type PendingProof } from '../pending-proof.ts';
import { signJws } from '../../jose/jws.ts';
import { type ActClaim, delegationPath, type MandateClaims } from '../mandate.ts';
import { TOKEN_TYPE, TYP } from '../../jose/token-types.ts';
import { personLimit } from '../entitlements.ts';
import { checkDelegation, checkDevIssuer, checkOnBehalfOf, formatScope, grantAudience, grantBudget, grantLifetime, grantRecords, grantScope, limitedBy } from './grant.ts';
import { type Actor, type Subject, verifyActor, verifySubject } from './parties.ts';
import { parseExchangeRequest } from './request.ts';
import type { RecordConstraints } from '../records.ts';

export interface ExchangeResponse {
  access_token: string;
  issued_token_type: typeof TOKEN_TYPE.accessToken;
  token_type: 'DPoP';
  expires_in: number;
  scope: string;
  /** RFC 9396 §7: the authorization details granted (record constraints), when the mandate has any. */
  authorization_details?: RecordConstraints[];
}

/**
 * The token endpoint's exchange, as an ordered list of checks — the list is the spec:
 *   1. parse the request (RFC 8693 §2.1)        5. on-behalf-of mode of the card
 *   2. verify the DPoP proof (RFC 9449 §4.3)    6. delegation allowed, within depth
 *   3. verify the actor: identity token bound   7. scope ∩ toolset ∩ parent ∩ person, audience, lifetime, budget
 *      to the proof key, instance and agent live 8. sign, record, audit (committed before returning)
 *   4. verify the subject: person, parent mandate or the actor itself;     record constraints never wider than the parent's (RFC 9396)
 *      the person's entitlements (their groups'), when entitlements are configured
 * After step 5, a development person token acts for a prod agent only where the deployment allows it.
 * Every refusal is audited with its code; nothing is issued unless every step passed.
 */
export async function exchangeToken(ctx: TokenContext, form: unknown, dpop: string | undefined, htu: string): Promise<ExchangeResponse> {
  const now = ctx.now();
  let actor: Actor | undefined;
  // With a trail that takes writes of its own, the proof's jti commits with the mandate (one commit).
  const deferring = ctx.recentProofs && ctx.audit.appendWithin ? new DeferringReplay(ctx.recentProofs, ctx.replay) : undefined;
  try {
    const request = parseExchangeRequest(form);
    if (!dpop) throw new MandateError('ERR_DPOP_INVALID', 'a DPoP proof is required: mandates are sender-constrained');
    const proof = await verifyDpopProof(dpop, { htm: 'POST', htu, now, replay: deferring ?? ctx.replay, ...(ctx.dpopNonces ? { nonce: ctx.dpopNonces.accepted(now) } : {}) });
    actor = await verifyActor(ctx, request.actorToken, proof.jkt, now);
    const subject = await verifySubject(ctx, request.subjectToken, actor, now);
    checkOnBehalfOf(actor, subject);
    checkDevIssuer(ctx, actor, subject);
    await checkDelegation(ctx, actor, subject);
    const person = subject.kind === 'person' ? await personLimit(ctx.store.db, subject.groups) : undefined;
    const granted = grantScope(request, actor, subject, person);
    const scope = formatScope(granted);
    const aud = grantAudience(ctx, request, subject);
    const nowSeconds = Math.floor(now.getTime() / 1000);
    const lifetime = grantLifetime(actor, subject, nowSeconds);
    const budget = grantBudget(request, actor, subject);
    const records = grantRecords(request, subject);
    const claims = mandateClaims(ctx, { actor, subject, scope, aud, budget, iat: nowSeconds, exp: nowSeconds + lifetime, task: request.task, records });
    const signer = ctx.keys.signer();
    const token = signJws({ typ: TYP.mandate, kid: signer.kid }, { ...claims }, signer.privateKey);
    await record(ctx, claims, signer.kid, actor, now, person ? { limited_by: limitedBy(request, granted), entitled_groups: person.entitledGroups } : {}, deferring?.pending);
    return { access_token: token, issued_token_type: TOKEN_TYPE.accessToken, token_type: 'DPoP', expires_in: lifetime, scope, ...(claims.authorization_details ? { authorization_details: claims.authorization_details } : {}) };
  } catch (error) {
    if (error instanceof RefusedWithin) throw error.cause;
    // A verified proof is spent by a refused exchange too (RFC 9449 §11.1).
    await deferring?.pending?.record().catch(() => {});
    await auditRefusal(ctx, error, actor);
    throw error;
  }
}

/** An exchange refused inside the transaction that would have issued it; its refusal is in the trail already. */
class RefusedWithin extends Error {}

function mandateClaims(
  ctx: TokenContext,
  input: { actor: Actor; subject: Subject; scope: string; aud: string[]; budget: number; iat: number; exp: number; task: { task_id?: string; description?: string } | undefined; records: RecordConstraints | undefined },
): MandateClaims {
  const { actor, subject } = input;
  const parent = subject.kind === 'mandate' ? subject.parent : undefined;
  const act: ActClaim = { sub: actor.spiffeId, agent_id: actor.agent.id, instance_id: actor.instance.id, ...(parent ? { act: parent.act } : {}) };
  const sub = subject.kind === 'mandate' ? subject.parent.sub : subject.sub;
  const groups = parent ? parent.groups : subject.kind === 'person' ? subject.groups : undefined;
  const task = input.task?.task_id || input.task?.description ? { id: input.task.task_id, description: input.task.description } : parent?.task;
  return {
    iss: ctx.issuer,
    sub,
    aud: input.aud,
    iat: input.iat,
    exp: input.exp,
    jti: crypto.randomBytes(16).toString('base64url'),
    client_id: actor.agent.id,
    scope: input.scope,
    act,
    cnf: { jkt: actor.jkt },
    budget: input.budget,
    depth: parent ? parent.depth + 1 : 0,
    sub_kind: parent ? parent.sub_kind : subject.kind === 'person' ? 'person' : 'agent',
    ...(parent ? { parent_jti: parent.jti } : {}),
    ...(task ? { task } : {}),
    ...(groups && groups.length > 0 ? { groups } : {}),
    ...(input.records ? { authorization_details: [input.records] } : {}),
  };
}

/**
 * The mandate row (for introspection and cascade revocation), the DPoP proof's jti and the
 * `token.issued` event, in one transaction (group-committed with other appends). Without a trail
 * that takes writes of its own: the row in its transaction, then the event.
 */
async function record(ctx: TokenContext, claims: MandateClaims, kid: string, actor: Actor, now: Date, person: Record<string, unknown>, proof: PendingProof | undefined): Promise<void> {
  const write = async (trx: Queryable) => {
    if (claims.parent_jti) await holdParent(trx, claims.parent_jti);
    await mandatesRepository(trx).insert(mandateRow(claims, kid, actor, now));
  };
  if (proof && ctx.audit.appendWithin) {
    let refused: unknown;
    await ctx.audit.appendWithin(
      async (trx) => {
        await write(trx);
        if (!(await proof.recordWithin(trx, now))) throw new MandateError('ERR_DPOP_REPLAY', 'DPoP proof jti has already been used', { expose: true });
        return issuedRecord(claims, actor, person);
      },
      (error) => {
        refused = error;
        return refusedRecord(error, actor);
      },
    );
    if (refused === undefined) return proof.committed();
    if (!(isMandateError(refused) && refused.code === 'ERR_DPOP_REPLAY')) await proof.record().catch(() => {});
    throw new RefusedWithin('refused within the issuing transaction', { cause: refused });
  }
  await ctx.store.transaction(write);
  await ctx.audit.append(issuedRecord(claims, actor, person));
}

function mandateRow(claims: MandateClaims, kid: string, actor: Actor, now: Date) {
  return {
    jti: claims.jti,
    parent_jti: claims.parent_jti ?? null,
    instance_id: actor.instance.id,
    agent_id: actor.agent.id,
    sub: claims.sub,
    scope: claims.scope,
    aud: JSON.stringify(claims.aud),
    budget: claims.budget,
    depth: claims.depth,
    task_id: claims.task?.id ?? null,
    issued_at: now.toISOString(),
    expires_at: new Date(claims.exp * 1000).toISOString(),
    revoked_at: null,
    kid,
  };
}

const issuedRecord = (claims: MandateClaims, actor: Actor, person: Record<string, unknown>): AuditRecord => ({
  chain: instanceChain(actor.instance.id),
  type: 'token.issued',
  actor: { instance: actor.instance.id, agent: actor.agent.id, person: claims.sub_kind === 'person' ? claims.sub : null, delegation: delegationPath(claims) },
  action: 'token:exchange',
  resource: claims.aud.join(' '),
  decision: 'allow',
  reasons: { scope: claims.scope, budget: { limit: claims.budget }, ...person, ...recordNote(claims) },
  status: 'success',
  data: { resources: [claims.jti] },
});

/** The constrained fields, for the trail (never the allowed values). */
const recordNote = (claims: MandateClaims) => {
  const records = claims.authorization_details?.[0];
  return records ? { record: `constrained: ${Object.keys(records.fields).sort().join(', ')}` } : {};
};

/**
 * The parent must still stand when its child is written, not only when it was verified: a
 * cascade revocation committed in between would otherwise miss the child. The no-op update
 * takes the parent row's lock (PostgreSQL), so a concurrent revocation either waits and then
 * sees this child, or has already committed and leaves nothing to update here.
 */
async function holdParent(trx: Queryable, parentJti: string): Promise<void> {
  if (!(await mandatesRepository(trx).holdUnrevoked(parentJti))) {
    throw new MandateError('ERR_GRANT_INVALID', 'the parent mandate has been revoked');
  }
}

async function auditRefusal(ctx: TokenContext, error: unknown, actor: Actor | undefined): Promise<void> {
  try {
    await ctx.audit.append(refusedRecord(error, actor));
  } catch {
    // The refusal stands whether or not it could be recorded.
  }
}

function refusedRecord(error: unknown, actor: Actor | undefined): AuditRecord {
  return {
    chain: actor ? instanceChain(actor.instance.id) : SYSTEM_CHAIN,
    type: 'token.refused',
    actor: { instance: actor?.instance.id ?? null, agent: actor?.agent.id ?? null, person: null, delegation: [] },
    action: 'token:exchange',
    decision: 'deny',
    status: 'failure',
    denial_reason: isMandateError(error) ? error.code : 'ERR_INTERNAL',
    reasons: isMandateError(error) && error.expose ? { message: error.message } : {},
  };
}
