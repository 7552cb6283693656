import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentRuntime } from '../src/sdk/runtime.ts';
import { bootstrap, register, supportBot } from './fixtures.ts';
import { startTestServer, type TestServer } from './harness.ts';

describe('retiring an agent', () => {
  let server: TestServer;
  let runtime: AgentRuntime;
  beforeAll(async () => {
    server = await startTestServer('sqlite');
    await register(server, supportBot);
    runtime = await bootstrap(server, 'support-bot');
  });
  afterAll(() => server.close());

  it('seals the chain of each of its instances with a final event', async () => {
    expect((await server.api('POST', '/v1/agents/support-bot/retire')).status).toBe(200);
    const sealed = server.audit.ofType('lifecycle.sealed');
    expect(sealed.map((e) => e.chain)).toEqual([`instance:${runtime.instanceId}`]);
  });
});
