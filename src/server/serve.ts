import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import { buildApp } from './app.ts';
import type { ServerContext } from './context.ts';
import { type Prepared, prepare } from './setup.ts';

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
  options: { logger?: Logger; now?: () => Date; pgSchema?: string } = {},
): Promise<RunningServer> {
  const now = options.now ?? (() => new Date());
  const prepared: Prepared = await prepare(config, now(), options.pgSchema);
  const logger = options.logger ?? createLogger(config.logLevel);
  const ctx: ServerContext = {
    config,
    store: prepared.store,
    masterKey: prepared.masterKey,
    trustDomain: prepared.trustDomain,
    logger,
    now,
  };
  const app = await buildApp(ctx);
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await prepared.store.close();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  let closing: Promise<void> | undefined;
  return {
    app,
    ctx,
    url: `http://${host}:${port}`,
    ...(prepared.adminToken ? { adminToken: prepared.adminToken } : {}),
    close: () => {
      closing ??= (async () => {
        await app.close();
        await prepared.store.close();
      })();
      return closing;
    },
  };
}
