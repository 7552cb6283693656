import type { RefusedAttempt } from '../lifecycle/discovery/refused-clients.ts';
import type { TokenContext } from '../tokens/context.ts';

/**
 * What the enforcement-point kit needs from the process hosting it: mandate verification (keys,
 * store, replay cache, DPoP nonces, the clock) and a log for what cannot be told to the agent.
 * Narrow on purpose, so enforcement points never reach for the server's context.
 */
export interface EnforcementContext extends TokenContext {
  logger: { warn(details: object, message: string): void; error(details: object, message: string): void };
  /** When set, requests refused before a mandate was accepted are noted (shadow-agent discovery). */
  refusedClients?: { note(attempt: RefusedAttempt): void } | undefined;
}
