import type { Logger } from 'pino';
import type { Broker } from '../broker/broker.ts';
import type { Gateway } from '../gateway/gateway.ts';
import type { Instance } from '../identity/instances.ts';
import type { KeyRing } from '../identity/key-ring.ts';
import { argsRefresher } from './args-schema.ts';
import type { Authorizer } from '../policy/authorizer.ts';
import { loadStoredPolicySet, runningPolicySet } from '../policy/stored.ts';
import type { Store } from '../store/store.ts';
import type { Change } from '../cluster/changes.ts';
import type { ChangeFeed } from '../cluster/feed.ts';
import type { StandingCache } from '../cluster/standing-cache.ts';
import type { FollowedCache } from '../cluster/followed-cache.ts';
import type { AgentCard } from '../registry/agent-card.ts';
import type { PresentedTokens } from '../tokens/presented-tokens.ts';
import type { VerifiedMandates } from '../tokens/verified-mandates.ts';

export interface Followers {
  store: Store;
  keys: KeyRing;
  authorizer: Authorizer;
  standing: StandingCache;
  cards: FollowedCache<AgentCard>;
  verified: VerifiedMandates;
  presented: PresentedTokens;
  instances: FollowedCache<Instance | undefined>;
  gateway: Gateway;
  broker: Broker;
  logger: Logger;
  now: () => Date;
}

/**
 * What a replica does with each change, whoever made it. `resync` (start, reconnect, an unreadable
 * change) reloads everything the replica keeps in memory from the tables.
 */
export function followChanges(feed: ChangeFeed, f: Followers): void {
  const retypeArgs = argsRefresher(f.authorizer, f.store.db, f.logger);
  const reloadPolicy = async () => {
    const stored = await runningPolicySet(f.store.db);
    if (!stored || stored.version === f.authorizer.version) return;
    f.authorizer.reload(loadStoredPolicySet(stored, f.authorizer.policySet.schema));
    f.logger.info({ version: stored.version }, 'running policy set replaced from the database');
  };
  feed.subscribe(async (change: Change, origin) => {
    f.standing.apply(change);
    switch (change.kind) {
      case 'resync':
        f.cards.clear();
        f.instances.clear();
        f.verified.clear();
        f.presented.clear();
        f.broker.forgetStored('all');
        await f.gateway.forgetServer();
        await f.keys.load(f.now());
        // Again after the reload: a token verified meanwhile used the old key ring.
        f.presented.clear();
        await retypeArgs();
        await reloadPolicy();
        return;
      case 'policy.applied':
        return reloadPolicy();
      case 'keys.rotated':
        await f.keys.load(f.now());
        return;
      case 'keys.revoked':
        // Verified mandates and presented tokens: none may outlive the key that signed it, and
        // they are forgotten after the reload too, as a verification made meanwhile used the old ring.
        f.presented.forget({ kid: change.kid });
        await f.keys.load(f.now());
        f.verified.clear();
        f.presented.forget({ kid: change.kid });
        return;
      case 'pins.changed':
        f.gateway.invalidatePins(change.server);
        return retypeArgs();
      case 'server.changed':
        await f.gateway.forgetServer(change.name);
        return;
      case 'connection.changed':
        f.broker.forgetStored({ connection: change.name });
        if (origin === 'remote') await f.broker.release(change.name);
        return retypeArgs();
      case 'secret.changed':
        f.broker.forgetStored({ secret: change.name });
        return;
      case 'mandates.revoked':
        // Database roles of ended mandates go at once; the replica that revoked drops them.
        if (origin === 'local' && change.jtis) {
          void f.broker.databases.revoke(change.jtis).catch((error: Error) => f.logger.warn({ err: error.message }, 'dropping database roles of revoked mandates failed; the sweep retries'));
        }
        return;
      case 'agent.changed':
        // Retiring an agent revokes its instances under this one change.
        f.cards.delete(change.id);
        f.instances.clear();
        f.presented.forget({ agent: change.id });
        return;
      case 'instance.revoked':
        f.instances.delete(change.id);
        f.presented.forget({ instance: change.id });
        return;
    }
  });
}
