import type { Transaction } from 'kysely';
import type { Database } from '../store/schema.ts';
import type { Store } from '../store/store.ts';
import { type Change, mandatesRevoked } from './changes.ts';
import type { ChangeFeed } from './feed.ts';

/**
 * Ends mandates in one transaction and announces, with its commit, what ended (plus `also`, e.g.
 * the instance), so every replica stops accepting them. Every revocation path goes through here;
 * without a feed (a tool working on the store alone) it is only the transaction.
 */
export function revokeAnnounced(
  store: Store,
  changes: Pick<ChangeFeed, 'transaction'> | undefined,
  revoke: (trx: Transaction<Database>) => Promise<string[]>,
  also: readonly Change[] = [],
): Promise<string[]> {
  if (!changes) return store.transaction(revoke);
  return changes.transaction(async (trx, emit) => {
    const revoked = await revoke(trx);
    for (const change of also) await emit(change);
    if (revoked.length > 0) await emit(mandatesRevoked(revoked));
    return revoked;
  });
}
