import { AgentRuntime } from '../src/sdk/runtime.ts';
import { generateDpopKeyPair } from '../src/sdk/dpop.ts';
import type { Dialect } from '../src/store/store.ts';
import { readJson, startTestServer, type TestServer } from './harness.ts';

export const CODE_HASH = `sha256:${'c0de'.repeat(16)}`;

export const supportBot = {
  id: 'support-bot',
  name: 'Support bot',
  owner: 'alice@example.com',
  environment: 'prod',
  model: 'gpt-5',
  code_hashes: [CODE_HASH],
  toolset: ['tool:github/*', 'http:zendesk:GET:/api/v2/**'],
  roles: ['support'],
  may_delegate_to: ['summarizer'],
  max_token_lifetime: '15m',
  default_budget: 500,
};

export const summarizer = {
  id: 'summarizer',
  name: 'Summarizer',
  owner: 'bob@example.com',
  environment: 'prod',
  code_hashes: [CODE_HASH],
  toolset: ['tool:github/*'],
  on_behalf_of: 'optional',
  default_budget: 1000,
};

/** Register a card (201 expected). */
export async function register(server: TestServer, card: object) {
  const res = await server.api('POST', '/v1/agents', card);
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${await res.text()}`);
}

export async function joinToken(server: TestServer, agentId: string, body: object = {}): Promise<string> {
  const res = await server.api('POST', `/v1/agents/${agentId}/join-tokens`, body);
  if (res.status !== 201) throw new Error(`join token failed: ${res.status} ${await res.text()}`);
  return (await readJson(res)).token;
}

export async function personToken(server: TestServer, subject: string): Promise<string> {
  return (await readJson(await server.api('POST', '/v1/users/token', { subject }))).token;
}

/** A runtime of the agent, attested with a manifest that matches the card. */
export async function bootstrap(server: TestServer, agentId: string, extra: object = {}) {
  const model = agentId === 'support-bot' ? { model: 'gpt-5' } : {};
  return AgentRuntime.bootstrap(
    server.url,
    { agent_id: agentId, join_token: await joinToken(server, agentId), code_hash: CODE_HASH, environment: 'prod', ...model, ...extra },
    generateDpopKeyPair(),
  );
}

export const decode = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString());

/**
 * The delegation story's cast on a fresh server: support-bot (parent) and summarizer (child)
 * attested, a person token for alice, and the GitHub gateway resource they ask mandates for.
 */
export async function delegationScene(dialect: Dialect) {
  const server = await startTestServer(dialect);
  await register(server, supportBot);
  await register(server, summarizer);
  return {
    server,
    github: `${server.url}/mcp/github`,
    parent: await bootstrap(server, 'support-bot'),
    child: await bootstrap(server, 'summarizer'),
    alice: await personToken(server, 'alice@example.com'),
  };
}
