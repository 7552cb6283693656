import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { isMandateError, MandateError } from '../../errors.ts';
import { approvalStatuses, getApproval, listApprovals } from '../../governance/approvals.ts';
import { devIssuerOf, verifyPersonToken } from '../../identity/person-tokens.ts';
import { findAgent } from '../../registry/agents.ts';
import { parseOrThrow } from '../../validation.ts';
import { agentTargets } from '../../store/targets.ts';
import { SYSTEM_CHAIN } from '../../audit/writer.ts';
import { sees } from '../access.ts';
import type { ServerContext } from '../context.ts';

const listQuery = z.strictObject({
  status: z.enum([...approvalStatuses, 'all']).optional(),
  agent: z.string().min(1).max(64).optional(),
  instance: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});
const idParams = z.object({ id: z.string().regex(/^apr_[A-Za-z0-9_-]{16}$/, 'not an approval id') });
const decisionBody = z.strictObject({ note: z.string().max(1000).optional() }).optional();
const consentBody = z.strictObject({ verdict: z.enum(['approve', 'deny']).default('approve'), note: z.string().max(1000).optional() }).optional();
const BEARER = /^Bearer ([A-Za-z0-9_.~+/=-]+)$/;

/**
 * Human approvals: calls held until a person decides. Listing is a read; deciding needs the
 * `approve` access class (admin or approver, an environment-scoped one only for agents of that
 * environment), and the approver is the operator behind the token, recorded in the trail and
 * checked for separation of duties.
 */
export function approvalRoutes(app: FastifyInstance, ctx: ServerContext) {
  app.get('/v1/approvals', async (request) => {
    const filter = parseOrThrow(listQuery, request.query, 'query');
    const approvals = await listApprovals(ctx.store.db, filter, ctx.now());
    const agents = await agentTargets(ctx.store.db);
    return { approvals: approvals.filter((a) => sees(request.admin!, 'GET /v1/approvals', agents.get(a.agent))) };
  });

  app.get('/v1/approvals/:id', async (request) => {
    const { id } = parseOrThrow(idParams, request.params, 'path');
    return getApproval(ctx.store.db, id, ctx.now());
  });

  /**
   * Consent: the person the agent acts for decides their own low-risk held call, signed in with a
   * person token from a trusted issuer (the development issuer only where the agent's environment
   * accepts it, as for token exchange). Public: the person token is the caller's credential.
   */
  app.post('/v1/approvals/:id/consent', async (request, reply) => {
    // Behind the brute-force brake: a refused consent counts against the address, so person tokens cannot be probed.
    const client = `consent:${request.ip}`;
    const wait = ctx.authFailures.retryAfter(client);
    if (wait > 0) {
      reply.header('retry-after', String(wait));
      throw new MandateError('ERR_TOO_MANY_FAILURES', `too many refused consents from this address; retry in ${wait} s`);
    }
    let who: string | null = null;
    try {
      return await consent(request, (person) => (who = person));
    } catch (error) {
      if (isMandateError(error) && error.status >= 400 && error.status < 500) {
        ctx.authFailures.failed(client);
        await ctx.audit.append({
          chain: SYSTEM_CHAIN,
          type: 'approval.consent_refused',
          actor: { instance: null, agent: null, person: who, delegation: [] },
          action: 'approval:consent',
          // Only a well-formed approval id: what else the caller sent stays out of the trail.
          resource: idParams.safeParse(request.params).data?.id ?? null,
          status: 'failure',
          decision: 'deny',
          denial_reason: error.code,
        });
      }
      throw error;
    }
  });

  async function consent(request: FastifyRequest, signedIn: (person: string) => void) {
    const { id } = parseOrThrow(idParams, request.params, 'path');
    const body = parseOrThrow(consentBody, request.body ?? undefined, 'consent');
    const token = BEARER.exec(request.headers.authorization ?? '')?.[1];
    if (!token) throw new MandateError('ERR_SUBJECT_INVALID', 'consent needs the person signed in: Authorization: Bearer <person token>');
    const now = ctx.now();
    const person = await verifyPersonToken(token, { db: ctx.store.db, keys: ctx.keys, issuer: ctx.issuer, devIssuer: ctx.devIssuer, ...(ctx.issuerKeys ? { issuerKeys: ctx.issuerKeys } : {}), now });
    signedIn(person.sub);
    if (person.iss === devIssuerOf(ctx.issuer) && !ctx.devIssuerProd) {
      const approval = await getApproval(ctx.store.db, id, now);
      const agent = await findAgent(ctx.store.db, approval.agent);
      if (!agent || agent.environment === 'prod') {
        throw new MandateError('ERR_DEV_ISSUER_PROD', `agent ${approval.agent} is in prod: a development person token is not accepted; sign in through a trusted issuer`);
      }
    }
    const verdict = body?.verdict === 'deny' ? 'denied' : 'granted';
    return ctx.governance.consent(id, { verdict, person, note: body?.note, audit: ctx.audit, now });
  }

  for (const [action, verdict] of [['approve', 'granted'], ['deny', 'denied']] as const) {
    app.post(`/v1/approvals/:id/${action}`, async (request) => {
      const { id } = parseOrThrow(idParams, request.params, 'path');
      const body = parseOrThrow(decisionBody, request.body ?? undefined, 'decision');
      return ctx.governance.decide(id, { verdict, by: request.admin!.person, identities: request.admin!.identities, note: body?.note, audit: ctx.audit, now: ctx.now() });
    });
  }
}
