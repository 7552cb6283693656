import type { FastifyInstance } from 'fastify';
import { Broker } from '../broker/broker.ts';
import { brokerRoutes } from '../broker/routes.ts';
import type { ServerContext } from './context.ts';
import { brokerAdminRoutes } from './routes/broker-admin.ts';

declare module 'fastify' {
  interface FastifyInstance {
    broker: Broker;
  }
}

/** How often roles of ended mandates are dropped, besides at once on `broker.databases.revoke`. */
export const ROLE_SWEEP_MS = 60_000;

/** The broker, its admin API (/v1/connections) and its enforcement point (/broker/<connection>/…) on the app. */
export function registerBroker(app: FastifyInstance, ctx: ServerContext): Broker {
  const broker = new Broker(ctx);
  brokerAdminRoutes(app, ctx, broker);
  app.register(async (scope) => brokerRoutes(scope, ctx, broker));
  broker.databases.startSweeper(ROLE_SWEEP_MS);
  app.addHook('onClose', () => broker.close());
  app.decorate('broker', broker);
  return broker;
}
