import type { AuditWriter } from '../audit/writer.ts';
import type { KeyRing } from '../identity/key-ring.ts';
import type { Store } from '../store/store.ts';
import type { ReplayCache } from './replay-cache.ts';

/** What the token endpoint and the enforcement points need to issue and verify mandates. */
export interface TokenContext {
  store: Store;
  keys: KeyRing;
  /** Our issuer identifier (RFC 8414), the public base URL. */
  issuer: string;
  now: () => Date;
  replay: ReplayCache;
  audit: AuditWriter;
  devIssuer: boolean;
  maxDelegationDepth: number;
}
