import type { AuditWriter } from '../audit/writer.ts';
import type { ChangeFeed } from '../cluster/feed.ts';
import type { Store } from '../store/store.ts';

/** What lifecycle governance acts through: the store, the change feed (so every replica follows), the trail, the clock. */
export interface LifecycleDeps {
  store: Store;
  changes: Pick<ChangeFeed, 'transaction'>;
  audit: AuditWriter;
  now: () => Date;
}
