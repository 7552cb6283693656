import { fileURLToPath } from 'node:url';
import { AgentRuntime, MandateRequestError } from '../../src/sdk/runtime.ts';
import { sha256Hex } from '../../src/sdk/manifest.ts';
import { check, claimsOf, startEmbedded } from '../embedded.ts';

/**
 * A parent agent hands part of its task to a sub-agent: the sub-agent exchanges the parent's
 * mandate for its own, which can only be narrower; revoking the parent ends the child too.
 */
const EVERYTHING = fileURLToPath(new URL('../../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url));
const CODE = 'print("delegation example v1")';

const mandate = await startEmbedded('delegation');
// OAuth endpoints take form bodies; the admin token authenticates introspection and revocation.
const oauth = async (endpoint: 'introspect' | 'revoke', token: string) => {
  const res = await fetch(`${mandate.url}/oauth/${endpoint}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${mandate.adminToken}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }),
  });
  if (!res.ok) throw new Error(`/oauth/${endpoint}: ${res.status}`);
  return (await res.json().catch(() => ({}))) as { active?: boolean };
};

try {
  console.log(`Embedded Mandate at ${mandate.url}`);

  // 1. Two agent cards: the parent may delegate to the child.
  const codeHash = sha256Hex(CODE);
  const card = { environment: 'prod', code_hashes: [codeHash], toolset: ['tool:everything/*'], roles: ['operator'] };
  await mandate.admin('POST', '/v1/agents', { ...card, id: 'planner', name: 'Planner', owner: 'alice@example.com', may_delegate_to: ['worker'] });
  await mandate.admin('POST', '/v1/agents', { ...card, id: 'worker', name: 'Worker', owner: 'bob@example.com' });
  await mandate.admin('POST', '/v1/servers', { name: 'everything', transport: 'stdio', command: [process.execPath, EVERYTHING] });
  console.log('registered planner (may delegate to worker) and worker');

  const attest = async (id: string) => {
    const join = await mandate.admin('POST', `/v1/agents/${id}/join-tokens`, {});
    return AgentRuntime.bootstrap(mandate.url, { agent_id: id, join_token: String(join.token), code_hash: codeHash, environment: 'prod' });
  };
  const planner = await attest('planner');
  const worker = await attest('worker');

  // 2. The parent's mandate, for alice.
  const person = await mandate.admin('POST', '/v1/users/token', { subject: 'alice@example.com' });
  const resource = `${mandate.url}/mcp/everything`;
  const parent = await planner.obtainMandate({ subjectToken: String(person.token), scope: 'tool:everything/echo tool:everything/get-sum', resource });
  console.log(`parent mandate: scope ${parent.scope}`);

  // 3. A narrower mandate for the worker: granted, with the whole chain in `act`.
  const child = await worker.obtainMandate({ subjectToken: parent.token, scope: 'tool:everything/echo', resource });
  const claims = claimsOf(child.token) as { sub: string; scope: string; act: { sub: string; act?: { sub: string } } };
  console.log(`narrower child mandate granted: scope ${claims.scope}, chain ${claims.sub} → ${claims.act.act?.sub} → ${claims.act.sub}`);
  check(claims.scope === 'tool:everything/echo', `child scope ${claims.scope}`);

  // 4. A wider one is refused: a sub-agent never gets more than its parent holds.
  try {
    await worker.obtainMandate({ subjectToken: parent.token, scope: 'tool:everything/get-tiny-image', resource });
    throw new Error('unexpected: a scope wider than the parent was granted');
  } catch (error) {
    if (!(error instanceof MandateRequestError)) throw error;
    console.log(`wider child mandate refused: ${error.message}`);
    check(error.error === 'invalid_scope', `expected invalid_scope, got ${error.error}`);
  }

  // 5. Revoke the parent: the child is no longer active either.
  check((await oauth('introspect', child.token)).active === true, 'the child is active before the revocation');
  console.log('child introspection before revocation: {"active":true}');
  await oauth('revoke', parent.token);
  const after = await oauth('introspect', child.token);
  console.log(`child introspection after revoking the parent: ${JSON.stringify(after)}`);
  check(after.active === false, 'the child is inactive once its parent is revoked');

  console.log('OK: narrower delegation granted, wider refused, revoking the parent ended the child');
} finally {
  await mandate.close();
}
