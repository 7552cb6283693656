import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { MasterKey } from '../identity/master-key.ts';
import type { Store } from '../store/store.ts';

/** What every route and component reads at run time. The clock is injectable for tests. */
export interface ServerContext {
  config: Config;
  store: Store;
  masterKey: MasterKey;
  trustDomain: string;
  logger: Logger;
  now: () => Date;
}
