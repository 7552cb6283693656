import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import { deriveCheckpointKey } from '../audit/checkpoint-key.ts';
import { StoreAuditWriter } from '../audit/store-writer.ts';
import type { AuditWriter } from '../audit/writer.ts';
import { deriveAuditKey } from '../audit/redact.ts';
import { openGovernance } from '../governance/governance.ts';
import { FailureLimit } from './failure-limit.ts';
import type { Instance } from '../identity/instances.ts';
import { KeyRing } from '../identity/key-ring.ts';
import { IssuerKeys } from '../identity/issuer-keys.ts';
import { fetchJson } from '../net/fetch-json.ts';
import { ChangeFeed, localTransport } from '../cluster/feed.ts';
import { currentSchema, PostgresTransport } from '../cluster/postgres-transport.ts';
import { FollowedCache } from '../cluster/followed-cache.ts';
import { StandingCache } from '../cluster/standing-cache.ts';
import type { AgentCard } from '../registry/agent-card.ts';
import { openAuthorizer, policyDirOf } from '../policy/runtime.ts';
import { argsSchema } from './args-schema.ts';
import { DpopNonces } from '../tokens/dpop-nonce.ts';
import { RecentProofs } from '../tokens/pending-proof.ts';
import { StoreReplayCache } from '../tokens/replay-store.ts';
import { PresentedTokens } from '../tokens/presented-tokens.ts';
import { VerifiedMandates } from '../tokens/verified-mandates.ts';
import { DEFAULT_DELEGATION_DEPTH } from '../jose/token-types.ts';
import { startTracing } from '../telemetry/sdk.ts';
import { Alerts } from '../alerts/alerts.ts';
import { loadAlertConfig } from '../alerts/config.ts';
import { type SinkLagSource, sinkLagOf } from '../alerts/sink-lag.ts';
import { observedWriter } from '../audit/observed.ts';
import { allSinks } from '../notify/sinks.ts';
import { allTrailSinks } from '../stream/sinks.ts';
import { buildApp, VERSION } from './app.ts';
import type { ServerContext } from './context.ts';
import { mintFirstAdminToken, type Prepared, prepare } from './setup.ts';

export interface RunningServer {
  app: FastifyInstance;
  ctx: ServerContext;
  url: string;
  /** Present only on the start that created it. */
  adminToken?: string;
  close(): Promise<void>;
}

export function createLogger(level: Config['logLevel']): Logger {
  return pino({
    level,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.dpop', 'req.headers.cookie'],
      censor: '[REDACTED]',
    },
  });
}

/** Prepare storage and keys, then listen. Used by `mandate serve`, the demo and the tests. */
export async function startServer(
  config: Config,
  options: { logger?: Logger; now?: () => Date; pgSchema?: string; audit?: AuditWriter; sinkLags?: readonly SinkLagSource[] } = {},
): Promise<RunningServer> {
  const now = options.now ?? (() => new Date());
  // Off unless OTEL_TRACES_EXPORTER asks for it; then the SDK is loaded, once per process.
  const tracing = await startTracing(VERSION);
  const prepared: Prepared = await prepare(config, now(), options.pgSchema, { mintAdminToken: false });
  const logger = options.logger ?? createLogger(config.logLevel);
  const keys = await new KeyRing(prepared.store, prepared.masterKey).load(now());
  const authorizer = await openAuthorizer(prepared.store, now, await argsSchema(prepared.store.db));
  const transport =
    config.deployment === 'replicated' && config.databaseUrl
      ? new PostgresTransport({ databaseUrl: config.databaseUrl, schema: await currentSchema(prepared.store) })
      : localTransport;
  const changes = new ChangeFeed(prepared.store, transport, (error) => logger.warn({ err: error.message }, 'change feed lost; resynchronizing'));
  const standing = new StandingCache(changes);
  const cards = new FollowedCache<AgentCard>(changes);
  const auditWriter =
    options.audit ??
    new StoreAuditWriter(prepared.store, {
      now,
      checkpointKey: deriveCheckpointKey(prepared.masterKey.bytes, prepared.trustDomain),
      onError: (error) => logger.error({ err: error }, 'audit checkpoint failed'),
    });
  const alerts = new Alerts(
    {
      audit: auditWriter,
      db: prepared.store.db,
      now,
      logger,
      feed: changes,
      sinkLags: [sinkLagOf(() => allSinks(prepared.store.db), now), sinkLagOf(() => allTrailSinks(prepared.store.db, now()), now, 'trail/'), ...(options.sinkLags ?? [])],
    },
    loadAlertConfig(config.dataDir),
  );
  const ctx: ServerContext = {
    config,
    store: prepared.store,
    masterKey: prepared.masterKey,
    trustDomain: prepared.trustDomain,
    logger,
    now,
    keys,
    issuer: config.publicUrl ?? `http://${config.host}:${config.port}`,
    replay: new StoreReplayCache(prepared.store, now),
    recentProofs: new RecentProofs(now),
    // Alert rules watch the trail as it is written.
    audit: observedWriter(auditWriter, (event) => alerts.observe(event)),
    alerts,
    devIssuer: config.devIssuer,
    devIssuerProd: config.devIssuerProd,
    issuerKeys: new IssuerKeys({
      fetch: fetchJson,
      now,
      maxAgeSeconds: config.issuerKeysMaxAge,
      refreshSeconds: config.issuerKeysRefresh,
      staleSeconds: config.issuerKeysStale,
    }),
    maxDelegationDepth: DEFAULT_DELEGATION_DEPTH,
    authorizer,
    policyDir: policyDirOf(config.dataDir),
    changes,
    standing,
    cards,
    verified: new VerifiedMandates(),
    presented: new PresentedTokens(changes),
    instances: new FollowedCache<Instance | undefined>(changes),
    sync: changes,
    auditKey: deriveAuditKey(prepared.masterKey.bytes, Buffer.from(`mandate audit ${prepared.trustDomain}`)),
    governance: openGovernance(prepared.store, config.dataDir, logger, changes),
    authFailures: new FailureLimit({ limit: config.authFailureLimit, windowSeconds: config.authFailureWindow, now }),
    ...(config.dpopNonce ? { dpopNonces: new DpopNonces(prepared.masterKey.bytes) } : {}),
  };
  const app = await buildApp(ctx);
  const shutdown = async () => {
    await alerts.stop();
    await app.close();
    await changes.close();
    if (auditWriter instanceof StoreAuditWriter) await auditWriter.close();
    await prepared.store.close();
    await tracing?.flush().catch(() => {});
  };
  let adminToken: string | undefined;
  try {
    await changes.start();
    await app.listen({ host: config.host, port: config.port });
    // Only a server that listens hands out its first admin token: a failed bind spends nothing.
    adminToken = await mintFirstAdminToken(prepared.store, now());
    alerts.start();
  } catch (error) {
    await shutdown();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  // The issuer is the public address; with port 0 it is known only once listening.
  ctx.issuer = (config.publicUrl ?? `http://${host}:${port}`).replace(/\/+$/, '');
  let closing: Promise<void> | undefined;
  return {
    app,
    ctx,
    url: `http://${host}:${port}`,
    ...(adminToken ? { adminToken } : {}),
    close: () => {
      closing ??= shutdown();
      return closing;
    },
  };
}
