import type { AuditWriter } from '../audit/writer.ts';
import type { ChangeFeed } from '../cluster/feed.ts';
import type { Instance } from '../identity/instances.ts';
import type { IssuerKeys } from '../identity/issuer-keys.ts';
import type { AgentCard } from '../registry/agent-card.ts';
import type { KeyRing } from '../identity/key-ring.ts';
import type { Store } from '../store/store.ts';
import type { DpopNonces } from './dpop-nonce.ts';
import type { RecentProofs } from './pending-proof.ts';
import type { ReplayCache } from './replay-cache.ts';
import type { PresentedTokens } from './presented-tokens.ts';
import type { VerifiedMandates } from './verified-mandates.ts';

/** The enforcement path's view of the replica's change feed and its cache of live mandates. */
export interface StandingLookup {
  isLive(jti: string, expiresAt: number, now: Date, read: () => Promise<'live' | 'revoked' | 'unknown'>): Promise<boolean>;
}

/** Rows kept in memory while the change feed keeps them current (a `FollowedCache` is one). */
export interface RowCache<V> {
  get(key: string, load: () => Promise<V>, keep?: (value: V, now: number) => number | null): Promise<V>;
}

/** What the token endpoint and the enforcement points need to issue and verify mandates. */
export interface TokenContext {
  store: Store;
  keys: KeyRing;
  /** Our issuer identifier (RFC 8414), the public base URL. */
  issuer: string;
  now: () => Date;
  replay: ReplayCache;
  /**
   * When set, enforcement points record a governed call's DPoP proof with its decision (one
   * commit), and these recent proofs refuse a replay on this replica at once.
   */
  recentProofs?: RecentProofs;
  audit: AuditWriter;
  devIssuer: boolean;
  /** Development person tokens are accepted for agents in `prod` only when set. */
  devIssuerProd: boolean;
  /** Keys of trusted issuers that publish a JWKS, fetched and cached. */
  issuerKeys?: IssuerKeys;
  maxDelegationDepth: number;
  /** When set, mandate standing is cached (and invalidated by the change feed). */
  standing?: StandingLookup;
  /** When set, mandates already verified are recognized without verifying their signature again. */
  verified?: VerifiedMandates;
  /** When set, identity and person tokens presented at the token endpoint are verified once. */
  presented?: PresentedTokens;
  /** When set, instance rows as the change feed keeps them current (revocations drop them). */
  instances?: RowCache<Instance | undefined>;
  /** When set, agent cards as the change feed keeps them current. */
  cards?: RowCache<AgentCard>;
  /** When set, revocations are announced to every replica. */
  changes?: ChangeFeed;
  /** When set and not synchronized, enforcement points refuse with 503 instead of trusting memory. */
  sync?: { readonly synchronized: boolean };
  /** When set, DPoP proofs must carry a server-provided nonce (RFC 9449 §8, §9). */
  dpopNonces?: DpopNonces;
}
