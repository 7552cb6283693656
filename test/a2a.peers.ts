import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Role, TaskState } from '@a2a-js/sdk';
import { ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, JsonRpcTransportFactory, type Client } from '@a2a-js/sdk/client';
import { AgentEvent, type AgentExecutor, DefaultRequestHandler, type ExecutionEventBus, InMemoryTaskStore, type RequestContext } from '@a2a-js/sdk/server';
import { jsonRpcHandler, UserBuilder } from '@a2a-js/sdk/server/express';
import express from 'express';

/**
 * A real A2A agent built on the official SDK (`@a2a-js/sdk`, v1.0 protocol, JSON-RPC binding),
 * listening on loopback. It echoes a message back (with the metadata it received), or for
 * `stream <n>` runs a task that reports `n` working updates `tickMs` apart, then completes. Every
 * JSON-RPC request it receives is recorded (method and headers), so a test can prove what was
 * forwarded and what was not.
 */
export interface A2aPeer {
  url: string;
  /** The peer's JSON-RPC endpoint. */
  rpc: string;
  card: Record<string, unknown>;
  received: { method: string; headers: IncomingHttpHeaders }[];
  /** Stream ticks published so far (all tasks). */
  ticks: () => number;
  close(): Promise<void>;
}

const text = (value: string, contextId: string, taskId = '') => ({
  messageId: crypto.randomUUID(),
  contextId,
  taskId,
  role: Role.ROLE_AGENT,
  parts: [{ content: { $case: 'text' as const, value }, metadata: undefined, filename: '', mediaType: 'text/plain' }],
  metadata: undefined,
  extensions: [],
  referenceTaskIds: [],
});

class Executor implements AgentExecutor {
  readonly cancelled = new Set<string>();
  ticks = 0;
  readonly tickMs: number;
  constructor(tickMs: number) {
    this.tickMs = tickMs;
  }

  async execute(ctx: RequestContext, bus: ExecutionEventBus): Promise<void> {
    const message = ctx.userMessage;
    const said = message.parts.map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('');
    const stream = /^stream (\d+)$/.exec(said);
    if (!stream) {
      bus.publish(AgentEvent.message(text(`echo: ${said} ${JSON.stringify(message.metadata ?? {})}`, ctx.contextId)));
      bus.finished();
      return;
    }
    const status = (state: TaskState, note?: string) => ({ state, message: note ? text(note, ctx.contextId, ctx.taskId) : undefined, timestamp: new Date().toISOString() });
    bus.publish(AgentEvent.task({ id: ctx.taskId, contextId: ctx.contextId, status: status(TaskState.TASK_STATE_WORKING), artifacts: [], history: [message], metadata: undefined }));
    for (let i = 0; i < Number(stream[1]) && !this.cancelled.has(ctx.taskId); i++) {
      await new Promise((resolve) => setTimeout(resolve, this.tickMs));
      this.ticks++;
      bus.publish(AgentEvent.statusUpdate({ taskId: ctx.taskId, contextId: ctx.contextId, status: status(TaskState.TASK_STATE_WORKING, `tick ${i}`), metadata: undefined }));
    }
    const state = this.cancelled.has(ctx.taskId) ? TaskState.TASK_STATE_CANCELED : TaskState.TASK_STATE_COMPLETED;
    bus.publish(AgentEvent.statusUpdate({ taskId: ctx.taskId, contextId: ctx.contextId, status: status(state, 'done'), metadata: undefined }));
    bus.finished();
  }

  async cancelTask(taskId: string): Promise<void> {
    this.cancelled.add(taskId);
  }
}

export async function startA2aPeer(options: { name?: string; tickMs?: number } = {}): Promise<A2aPeer> {
  const executor = new Executor(options.tickMs ?? 50);
  const received: A2aPeer['received'] = [];
  const app = express();
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // The card as the peer publishes it (A2A v1.0 JSON); the same object serves the SDK's handler.
  const card = {
    name: options.name ?? 'Billing agent',
    description: 'Answers billing questions for one customer at a time',
    version: '1.0.0',
    supportedInterfaces: [
      { url: `${url}/rpc`, protocolBinding: 'JSONRPC', protocolVersion: '1.0', tenant: '' },
      { url: `${url}/rpc`, protocolBinding: 'JSONRPC', protocolVersion: '0.3', tenant: '' },
    ],
    capabilities: { streaming: true, pushNotifications: false, extensions: [], extendedAgentCard: false },
    securitySchemes: { own: { httpAuthSecurityScheme: { scheme: 'bearer', description: '', bearerFormat: '' } } },
    securityRequirements: [],
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    skills: [{ id: 'invoices', name: 'Invoices', description: 'Reads invoices', tags: ['billing'], examples: [], inputModes: [], outputModes: [], securityRequirements: [] }],
    signatures: [],
  };
  const handler = new DefaultRequestHandler({ ...card, securitySchemes: {} } as never, new InMemoryTaskStore(), executor);
  app.use(
    '/rpc',
    express.json(),
    (request, _response, next) => {
      received.push({ method: String((request.body as { method?: unknown })?.method), headers: request.headers });
      next();
    },
    // v1.0, and v0.3 for peers that still speak it (`A2A-Version: 0.3`).
    jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication, legacyCompat: { enabled: true } }),
  );
  // The ledger API the callee reads through Mandate's broker with its derived mandate.
  app.use('/api', (request, response) => {
    received.push({ method: `GET ${request.path}`, headers: request.headers });
    response.json({ path: request.path });
  });
  return {
    url,
    rpc: `${url}/rpc`,
    card,
    received,
    ticks: () => executor.ticks,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An A2A client (the official SDK) that finds the peer through Mandate's card and sends with `fetchImpl`. */
export async function a2aClient(base: string, fetchImpl: typeof fetch): Promise<Client> {
  const factory = new ClientFactory(
    ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      transports: [new JsonRpcTransportFactory({ fetchImpl })],
      cardResolver: new DefaultAgentCardResolver({ fetchImpl: fetch }),
    }),
  );
  return factory.createFromUrl(base.endsWith('/') ? base : `${base}/`);
}

/** A user message in the SDK's (v1.0) shape. */
export function userMessage(said: string, metadata?: Record<string, unknown>, ids: { taskId?: string; contextId?: string } = {}) {
  return {
    tenant: '',
    message: {
      messageId: crypto.randomUUID(),
      contextId: ids.contextId ?? '',
      taskId: ids.taskId ?? '',
      role: Role.ROLE_USER,
      parts: [{ content: { $case: 'text' as const, value: said }, metadata: undefined, filename: '', mediaType: 'text/plain' }],
      metadata,
      extensions: [],
      referenceTaskIds: [],
    },
    configuration: undefined,
    metadata: undefined,
  };
}
