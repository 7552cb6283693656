import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AgentRuntime } from '../../src/sdk/runtime.ts';
import { sha256Hex } from '../../src/sdk/manifest.ts';
import { check, startEmbedded } from '../embedded.ts';

/**
 * An agent calls an HTTP API through Mandate's credential broker: the broker injects the API's
 * secret for the one call and scrubs it from the answer, so the agent never holds it.
 */
const SECRET = 'sk-upstream-api-key-5e2b9d';
const CODE = 'print("http agent v1")';

// A tiny upstream API on loopback: it only answers a request carrying the right bearer token.
const seen: string[] = [];
const upstream = http.createServer((req, res) => {
  const auth = req.headers.authorization ?? '';
  seen.push(auth);
  res.setHeader('content-type', 'application/json');
  if (auth !== `Bearer ${SECRET}`) {
    res.statusCode = 401;
    res.end(JSON.stringify({ error: 'missing or wrong credential' }));
    return;
  }
  // A careless API that echoes the credential back: the broker must redact it.
  res.end(JSON.stringify({ message: `hello from ${req.url}`, echoed_authorization: auth }));
});
await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;

const mandate = await startEmbedded('http-broker');
try {
  console.log(`Embedded Mandate at ${mandate.url}, upstream API at ${upstreamUrl}`);

  // 1. The secret and a connection that injects it as a bearer header (admin API).
  await mandate.admin('PUT', '/v1/secrets/hello_api_key', { value: SECRET });
  await mandate.admin('POST', '/v1/connections', {
    name: 'hello',
    type: 'http',
    base_url: upstreamUrl,
    inject: ['header:Authorization=Bearer {{secret:hello_api_key}}'],
    allow: ['GET /**'],
  });
  console.log('connection hello → upstream, injecting Authorization from secret hello_api_key');

  // 2. An agent whose toolset covers GET on that connection.
  const codeHash = sha256Hex(CODE);
  await mandate.admin('POST', '/v1/agents', {
    id: 'http-agent',
    name: 'HTTP agent',
    owner: 'alice@example.com',
    environment: 'prod',
    code_hashes: [codeHash],
    toolset: ['http:hello:GET:/**'],
    roles: ['operator'],
  });
  const join = await mandate.admin('POST', '/v1/agents/http-agent/join-tokens', {});
  const runtime = await AgentRuntime.bootstrap(mandate.url, { agent_id: 'http-agent', join_token: String(join.token), code_hash: codeHash, environment: 'prod' });
  console.log(`attested as ${runtime.spiffeId}`);

  // 3. A mandate for the broker connection, then a call through it.
  const person = await mandate.admin('POST', '/v1/users/token', { subject: 'alice@example.com' });
  const granted = await runtime.obtainMandate({ subjectToken: String(person.token), scope: 'http:hello:GET:/**', resource: `${mandate.url}/broker/hello` });
  console.log(`mandate scope: ${granted.scope}`);

  const res = await runtime.fetchWith(granted)(`${mandate.url}/broker/hello/hello`);
  const body = await res.text();
  console.log(`GET /broker/hello/hello → ${res.status} ${body}`);
  check(res.status === 200, `expected 200, got ${res.status}: ${body}`);
  check(body.includes('hello from /hello'), 'the upstream answered');

  // 4. What each side saw.
  check(seen.at(-1) === `Bearer ${SECRET}`, `the upstream got ${seen.at(-1)}`);
  console.log('upstream saw the injected secret: yes');
  check(!body.includes(SECRET) && ![...res.headers.values()].some((v) => v.includes(SECRET)), 'the secret reached the agent');
  console.log(`agent's response contains the secret: no (${body.includes('[REDACTED]') ? 'echoed value came back as [REDACTED]' : 'not echoed'})`);

  console.log('OK: the agent called the API through the broker without ever holding its credential');
} finally {
  await mandate.close();
  upstream.closeAllConnections();
  upstream.close();
}
