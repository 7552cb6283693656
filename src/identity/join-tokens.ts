import crypto from 'node:crypto';
import { MandateError } from '../errors.ts';
import { joinTokensRepository } from '../store/repositories/join-tokens.ts';
import type { Queryable } from '../store/store.ts';

/**
 * One-time join tokens that let a runtime attest an instance of one agent: `mjt_<id>.<secret>`,
 * shown once, stored as a SHA-256 hash, single-use by default, short-lived.
 */
const PATTERN = /^mjt_([A-Za-z0-9_-]{11})\.([A-Za-z0-9_-]{43})$/;
const hash = (token: string) => crypto.createHash('sha256').update(token).digest('hex');

export interface JoinTokenCreated {
  id: string;
  token: string;
  agent_id: string;
  uses: number;
  expires_at: string;
}

export async function createJoinToken(
  db: Queryable,
  input: { agentId: string; ttlSeconds: number; uses: number; now: Date },
): Promise<JoinTokenCreated> {
  const id = crypto.randomBytes(8).toString('base64url');
  const token = `mjt_${id}.${crypto.randomBytes(32).toString('base64url')}`;
  const expires_at = new Date(input.now.getTime() + input.ttlSeconds * 1000).toISOString();
  await joinTokensRepository(db).insert({
    id,
    agent_id: input.agentId,
    secret_hash: hash(token),
    uses_left: input.uses,
    expires_at,
    created_at: input.now.toISOString(),
  });
  return { id, token, agent_id: input.agentId, uses: input.uses, expires_at };
}

const refused = (message: string) => new MandateError('ERR_JOIN_TOKEN', message);

/**
 * Spend one use of a join token for `agentId`, atomically: two runtimes racing with the same
 * token cannot both succeed. Returns the token id (safe to record; the secret never is).
 */
export async function spendJoinToken(db: Queryable, token: unknown, agentId: string, now: Date): Promise<string> {
  const match = typeof token === 'string' ? PATTERN.exec(token) : null;
  if (!match) throw refused('join token is malformed');
  const id = match[1]!;
  const joinTokens = joinTokensRepository(db);
  const row = await joinTokens.find(id);
  const expected = Buffer.from(row?.secret_hash ?? '0'.repeat(64), 'hex');
  if (!row || !crypto.timingSafeEqual(expected, Buffer.from(hash(token as string), 'hex'))) {
    throw refused('join token is not known');
  }
  if (row.agent_id !== agentId) throw refused(`join token was issued for another agent than ${agentId}`);
  if (Date.parse(row.expires_at) <= now.getTime()) throw refused('join token has expired');
  if (!(await joinTokens.spend(id))) throw refused('join token has already been used');
  return id;
}
