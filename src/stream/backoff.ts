/** Exponential backoff with jitter: 250 ms doubling to 30 s, each wait drawn from its upper half. */
export const BACKOFF_FIRST_MS = 250;
export const BACKOFF_MAX_MS = 30_000;

export function backoffMs(failures: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.max(0, failures - 1));
  // Half fixed, half random: replicas and sinks that failed together do not retry together.
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
