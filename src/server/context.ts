import type { Logger } from 'pino';
import type { ChangeFeed } from '../cluster/feed.ts';
import type { FollowedCache } from '../cluster/followed-cache.ts';
import type { StandingCache } from '../cluster/standing-cache.ts';
import type { AgentCard } from '../registry/agent-card.ts';
import type { PresentedTokens } from '../tokens/presented-tokens.ts';
import type { VerifiedMandates } from '../tokens/verified-mandates.ts';
import type { Config } from '../config/schema.ts';
import type { Instance } from '../identity/instances.ts';
import type { MasterKey } from '../identity/master-key.ts';
import type { Governance } from '../governance/governance.ts';
import type { Authorizer } from '../policy/authorizer.ts';
import type { TokenContext } from '../tokens/context.ts';
import type { Alerts } from '../alerts/alerts.ts';
import type { FailureLimit } from './failure-limit.ts';
import type { RefusedClients } from '../lifecycle/discovery/refused-clients.ts';

/** What every route and component reads at run time. The clock is injectable for tests. */
export interface ServerContext extends TokenContext {
  config: Config;
  masterKey: MasterKey;
  trustDomain: string;
  logger: Logger;
  authorizer: Authorizer;
  /** The policy directory: the source of the running set on SQLite, an input on PostgreSQL. */
  policyDir: string;
  /** Publishes changes to every replica and applies theirs. */
  changes: ChangeFeed;
  standing: StandingCache;
  verified: VerifiedMandates;
  presented: PresentedTokens;
  instances: FollowedCache<Instance | undefined>;
  /** Agent cards as the enforcement path reads them on every call. */
  cards: FollowedCache<AgentCard>;
  /** HMAC key for argument digests in the audit trail, derived from the master key. */
  auditKey: Uint8Array;
  /** Budgets, rate limits, behavior and approvals, shared by every enforcement point. */
  governance: Governance;
  /** Failed token requests and admin authentications per client address (this replica's count). */
  authFailures: FailureLimit;
  /** Requests the enforcement points refused before accepting a mandate, noted for discovery (set by the findings routes). */
  refusedClients?: RefusedClients;
  /** Alert rules over the trail, the approval backlog, sinks and this replica (`alerts.yaml`). */
  alerts?: Alerts;
}
