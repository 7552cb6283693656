import Fastify, { type FastifyInstance, LogController } from 'fastify';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { refusal } from '../errors.ts';
import { adminGuard } from './access.ts';
import { registerAdminAudit } from './admin-audit.ts';
import type { ServerContext } from './context.ts';
import { registerMetrics } from './metrics.ts';
import { openApiDocument } from './openapi.ts';
import { errorHandler, problem, sendProblem } from './problem.ts';
import { Gateway } from '../gateway/gateway.ts';
import { gatewayRoutes } from '../gateway/routes.ts';
import { A2aProxy } from '../a2a/proxy.ts';
import { a2aRoutes } from '../a2a/routes.ts';
import { a2aAdminRoutes } from './routes/a2a-admin.ts';
import { registerBroker } from './broker.ts';
import { registerFormParser, registerJsonParser } from './form.ts';
import { jsonTooDeep, valueTooDeep } from '../json-depth.ts';
import { gatewayAdminRoutes } from './routes/gateway-admin.ts';
import { agentRoutes } from './routes/agents.ts';
import { auditRoutes } from './routes/audit.ts';
import { approvalRoutes } from './routes/approvals.ts';
import { sinkRoutes } from './routes/sinks.ts';
import { trailSinkRoutes } from './routes/trail-sinks.ts';
import { alertRoutes } from './routes/alerts.ts';
import { issuerRoutes } from './routes/issuers.ts';
import { entitlementRoutes } from './routes/entitlements.ts';
import { mandateRoutes } from './routes/mandates.ts';
import { scimRoutes } from './routes/scim.ts';
import { reaperRoutes } from './routes/reaper.ts';
import { reviewRoutes } from './routes/reviews.ts';
import { findingRoutes } from './routes/findings.ts';
import { reportRoutes } from './routes/reports.ts';
import { identityRoutes } from './routes/identity.ts';
import { oauthRoutes } from './routes/oauth.ts';
import { operatorRoutes } from './routes/operators.ts';
import { loginRoutes } from './routes/login.ts';
import { commitPolicySet, policyRoutes } from './routes/policy.ts';
import { followChanges } from './follow.ts';
import { watchPolicyDir } from '../policy/apply.ts';
import { healthRoutes } from './routes/health.ts';
import { consoleRoutes } from './console.ts';
import { consoleSessionRoutes } from './routes/console.ts';
import { streamRoutes } from './routes/stream.ts';
import { wellKnownRoutes } from './routes/well-known.ts';

declare module 'fastify' {
  interface FastifyInstance {
    gateway: Gateway;
    /** Every route registered, as fastify saw it: what the OpenAPI document is checked against. */
    registeredRoutes: ReadonlyArray<{ method: string; url: string }>;
  }
}

export const BODY_LIMIT = 1024 * 1024;
export const VERSION = '0.1.0';

/** The HTTP surface: admin API under /v1, well-known documents, health and metrics. */
export async function buildApp(ctx: ServerContext): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: ctx.logger,
    bodyLimit: BODY_LIMIT,
    // Per-request lines would double the audit trail's work and cost latency; metrics count requests.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  }) as unknown as FastifyInstance;
  const registeredRoutes: Array<{ method: string; url: string }> = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) registeredRoutes.push({ method, url: route.url });
  });
  app.decorate('registeredRoutes', registeredRoutes);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      problem('ERR_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`),
    ),
  );
  app.addContentTypeParser(
    ['application/yaml', 'text/yaml', 'application/x-yaml'],
    { parseAs: 'string' },
    (_r, body, done) => {
      try {
        const value: unknown = parseYaml(body as string, { maxAliasCount: 100 });
        done(valueTooDeep(value) ? jsonTooDeep() : null, value);
      } catch (error) {
        const where =
          error instanceof YAMLParseError && error.linePos ? ` at line ${error.linePos[0].line}` : '';
        const reason = error instanceof Error ? error.message.split('\n')[0] : 'parse error';
        done(refusal('ERR_MALFORMED_YAML', `malformed YAML${where}: ${reason}`), undefined);
      }
    },
  );

  registerJsonParser(app);
  registerFormParser(app);
  const guard = adminGuard(ctx);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('cache-control', 'no-store');
    if (request.url.startsWith('/v1/') && request.url !== '/v1/openapi.json') await guard(request, reply);
  });
  registerAdminAudit(app, ctx);

  const metrics = registerMetrics(app, ctx);
  healthRoutes(app, ctx);
  consoleRoutes(app);
  wellKnownRoutes(app, ctx);
  app.get('/v1/openapi.json', async () => openApiDocument(VERSION));
  agentRoutes(app, ctx);
  identityRoutes(app, ctx);
  oauthRoutes(app, ctx);
  policyRoutes(app, ctx);
  // One process: the policy directory is the source, edits apply as they are saved.
  // Replicas change policy only through the API (`mandate policy apply`).
  if (ctx.config.deployment === 'single') {
    const watcher = watchPolicyDir(ctx.authorizer, ctx.policyDir, {
      commit: commitPolicySet(ctx, `policy files in ${ctx.policyDir}`),
      onApplied: (applied) => ctx.logger.info({ version: applied.version }, 'policy set reloaded from its files'),
      onRejected: (error) => ctx.logger.warn({ err: (error as Error).message }, 'policy files are invalid; the running set stays'),
    });
    app.addHook('onClose', async () => watcher.close());
  }
  auditRoutes(app, ctx);
  approvalRoutes(app, ctx);
  operatorRoutes(app, ctx);
  loginRoutes(app, ctx);
  consoleSessionRoutes(app, ctx);
  mandateRoutes(app, ctx);
  streamRoutes(app, ctx);
  sinkRoutes(app, ctx, metrics);
  trailSinkRoutes(app, ctx, metrics);
  alertRoutes(app, ctx);
  issuerRoutes(app, ctx);
  entitlementRoutes(app, ctx);
  scimRoutes(app, ctx);
  reaperRoutes(app, ctx);
  reviewRoutes(app, ctx);
  findingRoutes(app, ctx);
  reportRoutes(app, ctx);
  const gateway = new Gateway(ctx);
  gatewayAdminRoutes(app, ctx);
  const sessions = gatewayRoutes(app, ctx, gateway);
  app.addHook('onClose', async () => {
    await sessions.closeAll();
    await gateway.close();
  });
  app.decorate('gateway', gateway);
  const broker = registerBroker(app, ctx);
  a2aAdminRoutes(app, ctx);
  a2aRoutes(app, ctx, new A2aProxy(ctx));
  followChanges(ctx.changes, { ...ctx, gateway, broker });
  return app;
}
