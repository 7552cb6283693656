import { SYSTEM_CHAIN } from '../audit/writer.ts';
import { MandateError } from '../errors.ts';
import { revokeAnnounced } from '../cluster/revoke.ts';
import { mandatesRepository } from '../store/repositories/mandates.ts';
import { signingKeysRepository } from '../store/repositories/signing-keys.ts';
import type { Queryable } from '../store/store.ts';
import type { TokenContext } from './context.ts';
import { revokeMandates } from './revocation.ts';

export interface KeyWithdrawn {
  kid: string;
  revoked_at: string;
  /** The fresh key that signs from now on, when the withdrawn key was the one signing. */
  rotated_to: string | null;
  revoked_mandates: number;
}

/**
 * Withdraws a signing key at once, for a key that may be compromised. In one transaction whose
 * commit announces `keys.revoked` to every replica: the key leaves the JWKS and every key ring
 * (tokens naming it are refused with ERR_TOKEN_KEY_REVOKED, whatever their `exp`), a fresh key
 * takes over if it was signing, and the mandates it signed end with everything delegated from
 * them. Identity tokens and dev person tokens it signed are refused by their `kid`; the instances
 * themselves stay active, since their own keys were not exposed: they renew their identity token
 * with a DPoP proof and the new key signs it.
 */
export async function withdrawSigningKey(ctx: TokenContext, kid: string): Promise<KeyWithdrawn> {
  const now = ctx.now();
  let rotatedTo: string | undefined;
  const revoked = await revokeAnnounced(
    ctx.store,
    ctx.changes,
    async (trx) => {
      ({ rotatedTo } = await ctx.keys.withdraw(trx, kid, now));
      return revokeMandates(trx, await signedBy(trx, kid), now);
    },
    [{ kind: 'keys.revoked', kid }],
  );
  // Without a feed (one process, no announcements) the ring is reloaded here.
  if (!ctx.changes) await ctx.keys.load(now);
  ctx.verified?.clear();
  await ctx.audit.append({
    chain: SYSTEM_CHAIN,
    type: 'identity.key_revoked',
    actor: { instance: null, agent: null, person: null, delegation: [] },
    action: 'key:revoke',
    resource: kid,
    status: 'success',
    data: { resources: revoked, ...(rotatedTo ? { rotated_to: rotatedTo } : {}) },
  });
  return { kid, revoked_at: now.toISOString(), rotated_to: rotatedTo ?? null, revoked_mandates: revoked.length };
}

/**
 * Live mandates the key signed. Rows from before mandates recorded their key are matched by the
 * time the key was signing (over-revoking there is the safe side).
 */
async function signedBy(db: Queryable, kid: string): Promise<string[]> {
  const key = await signingKeysRepository(db).find(kid);
  if (!key) throw new MandateError('ERR_KEY_NOT_FOUND', `no signing key ${kid}`, { expose: true });
  return mandatesRepository(db).unrevokedSignedBy(kid, key.created_at, key.retired_at);
}
