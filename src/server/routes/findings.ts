import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { z } from 'zod';
import { listConnections } from '../../broker/connection-spec.ts';
import { revealSecret } from '../../broker/secrets.ts';
import { MandateError } from '../../errors.ts';
import { findingDraftSchema, type FindingDraft, SCANNERS } from '../../lifecycle/discovery/finding-draft.ts';
import { databaseOf, type LoginRole, LOGIN_ROLES_SQL, scanLoginRoles } from '../../lifecycle/discovery/postgres-logins.ts';
import { RefusedClients, refusedClientFindings } from '../../lifecycle/discovery/refused-clients.ts';
import { claimFinding, claimSchema, dismissFinding, dismissSchema, type FindingDeps, getFinding, listFindings, reportFindings } from '../../lifecycle/findings.ts';
import { databaseRolesRepository } from '../../store/repositories/database-roles.ts';
import { parseOrThrow } from '../../validation.ts';
import type { ServerContext } from '../context.ts';

const idParams = z.object({ id: z.string().min(1).max(64) });
const listQuery = z.strictObject({ status: z.enum(['open', 'claimed', 'dismissed']).optional(), scanner: z.enum(SCANNERS).optional() });
const reportBody = z.strictObject({ findings: z.array(findingDraftSchema).max(500) });
const scanBody = z
  .strictObject({
    scanners: z.array(z.enum(['postgres-login', 'refused-client'])).min(1).max(2).default(['postgres-login', 'refused-client']),
    /** More roles not to report this time, besides the configured allow list. */
    allow: z.array(z.string().min(1).max(63)).max(200).default([]),
    /** Refused clients: the window and the attempts a source needs to be reported. */
    since: z.string().regex(/^\d+[smhd]$/).default('7d'),
    min_attempts: z.number().int().min(1).max(1_000_000).default(1),
  })
  .default({ scanners: ['postgres-login', 'refused-client'], allow: [], since: '7d', min_attempts: 1 });

const SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;
const secondsOf = (text: string) => Number(text.slice(0, -1)) * SECONDS[text.at(-1) as keyof typeof SECONDS];

/** Scanner 2 over every PostgreSQL connection of the broker: its login roles against Mandate's own. */
async function scanPostgres(ctx: ServerContext, allow: ReadonlySet<string>): Promise<{ drafts: FindingDraft[]; scanned: string[] }> {
  const drafts: FindingDraft[] = [];
  const scanned: string[] = [];
  for (const spec of await listConnections(ctx.store.db)) {
    if (spec.type !== 'postgres') continue;
    const dsn = await revealSecret(ctx.store.db, ctx.masterKey, spec.dsn_secret);
    const { database, user } = databaseOf(dsn);
    const client = new pg.Client({ connectionString: dsn, connectionTimeoutMillis: 5000, statement_timeout: 10_000 });
    client.on('error', () => {});
    let roles: LoginRole[];
    try {
      await client.connect();
      roles = (await client.query<LoginRole>(LOGIN_ROLES_SQL)).rows;
    } catch (error) {
      // The driver's message may repeat the DSN's user; the connection name and the code say enough.
      throw new MandateError('ERR_DISCOVERY_UNAVAILABLE', `cannot list the login roles of connection ${spec.name} (${(error as { code?: string }).code ?? 'unreachable'})`, { expose: true });
    } finally {
      await client.end().catch(() => {});
    }
    const mandateRoles = new Set((await databaseRolesRepository(ctx.store.db).list(spec.name)).map((r) => r.role));
    drafts.push(...scanLoginRoles(roles, { connection: spec.name, database, ownUser: user, mandateRoles, allow }, ctx.now()));
    scanned.push(spec.name);
  }
  return { drafts, scanned };
}

/** Shadow-agent discovery: the findings queue, the server-side scanners, claims and dismissals. */
export function findingRoutes(app: FastifyInstance, ctx: ServerContext) {
  const deps: FindingDeps = { store: ctx.store, audit: ctx.audit, now: ctx.now, auditKey: ctx.auditKey };
  const refused = new RefusedClients(ctx.store.db, ctx.now, (error) => ctx.logger.warn({ err: error.message }, 'refused clients could not be recorded'));
  ctx.refusedClients = refused;
  app.addHook('onClose', async () => refused.flush());
  const by = (request: { admin?: { person: string | null } | undefined }) => request.admin?.person ?? null;

  app.get('/v1/findings', async (request) => ({ findings: await listFindings(deps, parseOrThrow(listQuery, request.query, 'query')) }));

  app.get('/v1/findings/:id', async (request) => getFinding(deps, parseOrThrow(idParams, request.params, 'path').id));

  // Findings of scanners that run where the files are (`mandate discover` scans MCP client configs).
  app.post('/v1/findings', async (request) => reportFindings(deps, parseOrThrow(reportBody, request.body, 'findings').findings, true));

  app.post('/v1/findings/scan', async (request) => {
    const body = parseOrThrow(scanBody, request.body ?? undefined, 'scan');
    const drafts: FindingDraft[] = [];
    const ran: Record<string, unknown> = {};
    if (body.scanners.includes('postgres-login')) {
      const allow = new Set([...ctx.config.discoveryAllowRoles.split(',').map((r) => r.trim()).filter(Boolean), ...body.allow]);
      const { drafts: found, scanned } = await scanPostgres(ctx, allow);
      drafts.push(...found);
      ran['postgres-login'] = { connections: scanned, findings: found.length };
    }
    if (body.scanners.includes('refused-client')) {
      await refused.flush();
      const found = await refusedClientFindings(ctx.store.db, new Date(ctx.now().getTime() - secondsOf(body.since) * 1000), body.min_attempts);
      drafts.push(...found);
      ran['refused-client'] = { since: body.since, findings: found.length };
    }
    return { scanners: ran, ...(await reportFindings(deps, drafts)) };
  });

  app.post('/v1/findings/:id/claim', async (request, reply) => {
    const { id } = parseOrThrow(idParams, request.params, 'path');
    const claimed = await claimFinding(deps, id, parseOrThrow(claimSchema, request.body, 'claim'), by(request));
    await ctx.changes.publish({ kind: 'agent.changed', id: claimed.finding.agent! });
    reply.status(201);
    return claimed;
  });

  app.post('/v1/findings/:id/dismiss', async (request) => {
    const { id } = parseOrThrow(idParams, request.params, 'path');
    return dismissFinding(deps, id, parseOrThrow(dismissSchema, request.body, 'dismissal').reason, by(request));
  });
}
