import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { attestInstance } from '../../identity/attest.ts';
import { issueIdentityToken } from '../../identity/identity-token.ts';
import { getInstance, listInstances } from '../../identity/instances.ts';
import { createJoinToken } from '../../identity/join-tokens.ts';
import { issueDevPersonToken } from '../../identity/person-tokens.ts';
import { durationSeconds } from '../../registry/duration.ts';
import { getAgent } from '../../registry/agents.ts';
import { MandateError } from '../../errors.ts';
import { verifyDpopProof } from '../../tokens/dpop.ts';
import { revokeAnnounced } from '../../cluster/revoke.ts';
import { withdrawSigningKey } from '../../tokens/key-withdrawal.ts';
import { revokeInstance } from '../../tokens/revocation.ts';
import { withLastActivity } from '../../lifecycle/inventory.ts';
import { agentSuspended } from '../../tokens/verify-request.ts';
import { parseOrThrow } from '../../validation.ts';
import type { ServerContext } from '../context.ts';

const joinTokenBody = z.strictObject({
  ttl: durationSeconds.pipe(z.number().int().min(30).max(7 * 86_400)).default(600),
  uses: z.number().int().min(1).max(1000).default(1),
});
const idParams = z.object({ id: z.string().min(1).max(64) });
const kidParams = z.object({ kid: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/) });
const userTokenBody = z.strictObject({
  subject: z.string().trim().min(1).max(320),
  ttl: durationSeconds.pipe(z.number().int().min(60).max(86_400)).default(3600),
  /** Groups the person is in (the token's `groups` claim): entitlements and Cedar groups. */
  groups: z.array(z.string().regex(/^[A-Za-z0-9_.@:-]{1,200}$/, 'a group name')).max(64).default([]),
});

/** Join tokens, attestation, identity renewal, instances, dev person tokens, key rotation and withdrawal. */
export function identityRoutes(app: FastifyInstance, ctx: ServerContext) {
  app.post('/v1/agents/:id/join-tokens', async (request, reply) => {
    const { id } = parseOrThrow(idParams, request.params, 'path');
    const body = parseOrThrow(joinTokenBody, request.body ?? {}, 'join token request');
    const agent = await getAgent(ctx.store.db, id);
    if (agent.status !== 'active') throw new MandateError('ERR_AGENT_STATE', `agent ${id} is ${agent.status}`);
    reply.status(201);
    return createJoinToken(ctx.store.db, { agentId: id, ttlSeconds: body.ttl, uses: body.uses, now: ctx.now() });
  });

  // Called by agent runtimes, authenticated by the join token and the manifest signature.
  app.post('/v1/instances', async (request, reply) => {
    reply.status(201);
    return attestInstance(ctx, request.body);
  });

  // Renewal needs only possession of the instance key: a DPoP proof for this URL signed by it.
  app.post('/v1/instances/:id/token', async (request) => {
    const { id } = parseOrThrow(idParams, request.params, 'path');
    const proof = request.headers.dpop;
    const instance = await getInstance(ctx.store.db, id).catch(() => undefined);
    const refused = new MandateError('ERR_RENEWAL_REFUSED', 'identity renewal needs a DPoP proof from an active instance key');
    if (!instance || instance.status !== 'active' || typeof proof !== 'string') throw refused;
    const now = ctx.now();
    await verifyDpopProof(proof, { htm: 'POST', htu: `${ctx.issuer}/v1/instances/${id}/token`, now, replay: ctx.replay, expectedJkt: instance.jkt });
    const agent = await getAgent(ctx.store.db, instance.agent_id);
    // The key holder has proven who it is: it may learn that its agent is suspended.
    if (agent.status === 'suspended') throw agentSuspended(agent.id);
    if (agent.status !== 'active') throw refused;
    const { token, claims } = issueIdentityToken(ctx.keys.signer(), {
      issuer: ctx.issuer,
      spiffeId: instance.spiffe_id,
      jkt: instance.jkt,
      agentId: instance.agent_id,
      instanceId: id,
      now,
    });
    return { identity_token: token, expires_in: claims.exp - claims.iat };
  });

  app.get('/v1/instances', async (request) => {
    const { agent, activity } = parseOrThrow(z.strictObject({ agent: z.string().optional(), activity: z.enum(['true', 'false']).optional() }), request.query, 'query');
    const instances = await listInstances(ctx.store.db, { agentId: agent });
    // With activity=true, each instance's latest own event in the trail (the inventory's view).
    return { instances: activity === 'true' ? await withLastActivity(ctx.store.db, instances) : instances };
  });

  app.get('/v1/instances/:id', async (request) => {
    const { id } = parseOrThrow(idParams, request.params, 'path');
    return getInstance(ctx.store.db, id);
  });

  app.post('/v1/instances/:id/revoke', async (request) => {
    const { id } = parseOrThrow(idParams, request.params, 'path');
    const now = ctx.now();
    const instance = await getInstance(ctx.store.db, id);
    const revoked = await revokeAnnounced(ctx.store, ctx.changes, (trx) => revokeInstance(trx, id, now), [{ kind: 'instance.revoked', id }]);
    await ctx.audit.append({
      chain: `instance:${id}`,
      type: 'lifecycle.revoked',
      actor: { instance: id, agent: instance.agent_id, person: null, delegation: [] },
      action: 'instance:revoke',
      resource: instance.spiffe_id,
      status: 'success',
      data: { resources: revoked },
    });
    await ctx.audit.sealChain(`instance:${id}`, { agent: instance.agent_id });
    return { instance_id: id, revoked_mandates: revoked.length };
  });

  app.post('/v1/users/token', async (request) => {
    if (!ctx.devIssuer) throw new MandateError('ERR_DEV_ISSUER_OFF', 'the development issuer is switched off');
    const body = parseOrThrow(userTokenBody, request.body, 'user token request');
    const { token, claims } = issueDevPersonToken(ctx.keys, ctx.issuer, body.subject, ctx.now(), body.ttl, body.groups);
    return { token, subject: claims.sub, issuer: claims.iss, expires_in: body.ttl, groups: claims.groups ?? [] };
  });

  app.post('/v1/keys/rotate', async () => {
    // Retired keys stay published as long as the longest token they may have signed lives.
    const { kid, retired } = await ctx.keys.rotate(ctx.now(), 86_400 + 300);
    await ctx.changes.publish({ kind: 'keys.rotated', kid });
    return { kid, retired: retired ?? null };
  });

  // A compromised key is withdrawn at once on every replica, with the mandates it signed.
  app.post('/v1/keys/:kid/revoke', async (request) => {
    const { kid } = parseOrThrow(kidParams, request.params, 'path');
    return withdrawSigningKey(ctx, kid);
  });
}
