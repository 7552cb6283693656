// The agent the broker benches send load as: a card, a connection to the bench's upstream with an
// injected secret, a joined instance and a mandate for it. Not a bench itself (see run.ts).
import type { JsonWebKey } from 'node:crypto';
import type { RunningServer } from '../src/server/serve.ts';
import { type Ed25519PublicJwk, generateDpopKeyPair } from '../src/sdk/dpop.ts';
import { AgentRuntime } from '../src/sdk/runtime.ts';

export interface BrokerAgent {
  /** The mandate and its DPoP key, as the load workers take them. */
  mandate: { token: string; privateJwk: JsonWebKey; publicJwk: Ed25519PublicJwk };
  /** The brokered URL of the upstream's `/repos/acme/widgets`. */
  url: string;
}

export async function brokerAgent(server: RunningServer, upstreamPort: number, secret: string): Promise<BrokerAgent> {
  const admin = async (method: string, route: string, body: unknown) => {
    const res = await fetch(`${server.url}${route}`, { method, headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`${route}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<Record<string, string>>;
  };
  const codeHash = `sha256:${'c0de'.repeat(16)}`;
  await admin('POST', '/v1/agents', { id: 'bench-bot', name: 'Bench bot', owner: 'alice@example.com', environment: 'dev', roles: ['operator'], code_hashes: [codeHash], toolset: ['http:api:GET:/**'], max_token_lifetime: '15m' });
  await admin('PUT', '/v1/secrets/api_token', { value: secret });
  await admin('POST', '/v1/connections', { name: 'api', base_url: `http://127.0.0.1:${upstreamPort}/`, inject: ['header:Authorization=Bearer {{secret:api_token}}'], allow: ['GET /repos/**'] });
  const { token: joinToken } = await admin('POST', '/v1/agents/bench-bot/join-tokens', {});
  const key = generateDpopKeyPair();
  const runtime = await AgentRuntime.bootstrap(server.url, { agent_id: 'bench-bot', join_token: joinToken!, code_hash: codeHash, environment: 'dev' }, key);
  const { token: alice } = await admin('POST', '/v1/users/token', { subject: 'alice@example.com' });
  const mandate = await runtime.obtainMandate({ subjectToken: alice!, scope: 'http:api:GET:/repos/**', resource: `${server.ctx.issuer}/broker/api` });
  return {
    mandate: { token: mandate.token, privateJwk: key.privateKey.export({ format: 'jwk' }), publicJwk: key.publicJwk },
    url: `${server.ctx.issuer}/broker/api/repos/acme/widgets`,
  };
}
