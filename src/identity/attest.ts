import crypto from 'node:crypto';
import { type AuditWriter, instanceChain, SYSTEM_CHAIN } from '../audit/writer.ts';
import { isMandateError, refusal } from '../errors.ts';
import { findAgent } from '../registry/agents.ts';
import type { Store } from '../store/store.ts';
import { checkManifestAgainstCard } from './card-checks.ts';
import { issueIdentityToken } from './identity-token.ts';
import { insertInstance } from './instances.ts';
import { spendJoinToken } from './join-tokens.ts';
import { verifyManifest } from './manifest.ts';
import type { KeyRing } from './key-ring.ts';
import { instanceSpiffeId } from './spiffe.ts';

/** What attestation needs of the control plane. */
export interface AttestContext {
  store: Store;
  keys: KeyRing;
  issuer: string;
  trustDomain: string;
  now: () => Date;
  audit: AuditWriter;
}

export interface Attested {
  instance_id: string;
  agent_id: string;
  spiffe_id: string;
  identity_token: string;
  expires_in: number;
}

/**
 * Instance attestation (DESIGN §1.2), in order: the manifest's signature by the instance key,
 * the join token (spent once it is shown valid, even when a later check refuses: a join token
 * is never tried twice), the agent card claim by claim, then a key not bound to another
 * instance. Every refusal names the failing claim and is audited.
 */
export async function attestInstance(ctx: AttestContext, body: unknown): Promise<Attested> {
  const now = ctx.now();
  let agentId: string | undefined;
  try {
    const jws = (body as { manifest?: unknown } | null)?.manifest;
    const { manifest, jkt, publicJwk } = verifyManifest(jws, now);
    agentId = manifest.agent_id;
    const joinTokenId = await spendJoinToken(ctx.store.db, manifest.join_token, manifest.agent_id, now);
    const card = await findAgent(ctx.store.db, manifest.agent_id);
    if (!card) throw refusal('ERR_AGENT_NOT_FOUND', `agent ${manifest.agent_id} not found`);
    checkManifestAgainstCard(manifest, card);
    const id = crypto.randomBytes(9).toString('base64url').replace(/[-_]/g, 'x');
    const spiffeId = instanceSpiffeId(ctx.trustDomain, card.id, id);
    const { join_token: _secret, ...claims } = manifest;
    await insertInstance(ctx.store.db, {
      id,
      agent_id: card.id,
      spiffe_id: spiffeId,
      jkt,
      public_jwk: publicJwk,
      claims: { ...claims, join_token_id: joinTokenId },
      created_at: now.toISOString(),
    });
    const { token, claims: idClaims } = issueIdentityToken(ctx.keys.signer(), { issuer: ctx.issuer, spiffeId, jkt, agentId: card.id, instanceId: id, now });
    await ctx.audit.append({
      chain: instanceChain(id),
      type: 'identity.attested',
      actor: { instance: id, agent: card.id, person: null, delegation: [] },
      action: 'instance:attest',
      resource: spiffeId,
      decision: 'allow',
      status: 'success',
      reasons: { message: `code ${manifest.code_hash}, key ${jkt}` },
    });
    return { instance_id: id, agent_id: card.id, spiffe_id: spiffeId, identity_token: token, expires_in: idClaims.exp - idClaims.iat };
  } catch (error) {
    const code = isMandateError(error) ? error.code : 'ERR_INTERNAL';
    await ctx.audit
      .append({
        chain: SYSTEM_CHAIN,
        type: 'identity.refused',
        actor: { instance: null, agent: agentId ?? null, person: null, delegation: [] },
        action: 'instance:attest',
        decision: 'deny',
        status: 'failure',
        denial_reason: code,
        reasons: isMandateError(error) && error.expose ? { message: error.message } : {},
      })
      .catch(() => {});
    throw error;
  }
}
