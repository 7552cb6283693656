import type { FastifyInstance } from 'fastify';
import { encodeCursor, queryEvents, readHead } from '../../audit/log-store.ts';
import { listApprovals } from '../../governance/approvals.ts';
import { consoleSessionsRepository } from '../../store/repositories/console-sessions.ts';
import { agentTargets } from '../../store/targets.ts';
import { sees } from '../access.ts';
import { ADMIN_ROUTES } from '../admin-routes.ts';
import { authenticateAdminTokenId } from '../admin-tokens.ts';
import type { ServerContext } from '../context.ts';

/** How often a stream looks for news: a held call shows in the inbox well within a second. */
export const STREAM_POLL_MS = 400;
/** How often a stream re-checks its caller (signed out, token revoked) and sends a keep-alive. */
const RECHECK_MS = 5_000;
const AUDIT_PAGE = 200;

/**
 * Live updates as server-sent events (WHATWG HTML §9.2): `audit` events as they are appended (for
 * callers who may read the trail) and `approvals` with the pending held calls the caller may see,
 * each time that set changes. The console's inbox, overview and tail follow it. The stream ends
 * when the caller's session or token does.
 */
export function streamRoutes(app: FastifyInstance, ctx: ServerContext) {
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of open) end();
  });

  app.get('/v1/stream', async (request, reply) => {
    const principal = request.admin!;
    const session = request.consoleSession;
    const readsAudit = sees(principal, 'GET /v1/audit/events', undefined);
    const approvalRoles = ADMIN_ROUTES['GET /v1/approvals']!.roles;
    const readsApprovals = approvalRoles !== 'public' && principal.grants.some((g) => approvalRoles.includes(g.role));
    let after = (await readHead(ctx.store.db)).size - 1;
    let pending: string | undefined;
    let busy = false;
    let lastCheck = Date.now();

    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      connection: 'keep-alive',
    });
    raw.write(`retry: 2000\n: audit ${readsAudit ? 'on' : 'off'}, approvals ${readsApprovals ? 'on' : 'off'}\n\n`);
    const send = (event: string, data: unknown) => raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);

    const stillAllowed = async () => {
      if (session && !(await consoleSessionsRepository(ctx.store.db).find(session.id_hash))) return false;
      try {
        await authenticateAdminTokenId(ctx.store.db, principal.tokenId, ctx.now());
        return true;
      } catch {
        return false;
      }
    };

    const tick = async () => {
      if (busy) return;
      busy = true;
      try {
        if (Date.now() - lastCheck >= RECHECK_MS) {
          lastCheck = Date.now();
          if (!(await stillAllowed())) return end();
          raw.write(': keep-alive\n\n');
        }
        if (readsAudit) {
          const page = await queryEvents(ctx.store.db, {}, { limit: AUDIT_PAGE, order: 'asc', cursor: after >= 0 ? encodeCursor(after) : undefined });
          for (const item of page.events) send('audit', item);
          after = page.events.at(-1)?.leaf_index ?? after;
        }
        if (readsApprovals) {
          const agents = await agentTargets(ctx.store.db);
          const visible = (await listApprovals(ctx.store.db, { status: 'pending' }, ctx.now())).filter((a) => sees(principal, 'GET /v1/approvals', agents.get(a.agent)));
          const ids = visible.map((a) => a.id).sort().join(',');
          if (ids !== pending) {
            pending = ids;
            send('approvals', { pending: visible.map((a) => a.id) });
          }
        }
      } catch (error) {
        ctx.logger.warn({ err: (error as Error).message }, 'a live stream could not read the store');
      } finally {
        busy = false;
      }
    };
    const timer = setInterval(() => void tick(), STREAM_POLL_MS);
    const end = () => {
      clearInterval(timer);
      open.delete(end);
      raw.end();
    };
    open.add(end);
    request.raw.on('close', end);
    void tick();
    return reply;
  });
}
