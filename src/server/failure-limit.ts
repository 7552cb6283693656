import type { FastifyReply } from 'fastify';

/**
 * Brute-force brake for the endpoints that check a secret: the token endpoint, introspection,
 * revocation and admin authentication. Each client address may fail `limit` times within
 * `windowSeconds`; after that it is answered 429 with `Retry-After` (RFC 6585 §4, RFC 9110 §10.2.3)
 * until its oldest failure in the window ages out. Successes are not counted. State is in memory:
 * each replica counts the failures it sees, so behind N replicas a client may fail up to N × limit
 * times per window.
 */
export class FailureLimit {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #now: () => Date;
  readonly #maxClients: number;
  /** Failure times (ms) per key, oldest first, never more than `limit` of them. */
  readonly #failures = new Map<string, number[]>();

  constructor(options: { limit: number; windowSeconds: number; now: () => Date; maxClients?: number }) {
    this.#limit = options.limit;
    this.#windowMs = options.windowSeconds * 1000;
    this.#now = options.now;
    this.#maxClients = options.maxClients ?? 100_000;
  }

  /** Seconds the client must wait before it may try again, or 0 when it may try now. */
  retryAfter(key: string): number {
    if (this.#limit === 0) return 0;
    const recent = this.#recent(key);
    if (recent.length < this.#limit) return 0;
    return Math.max(1, Math.ceil((recent[0]! + this.#windowMs - this.#now().getTime()) / 1000));
  }

  failed(key: string): void {
    if (this.#limit === 0) return;
    const recent = this.#recent(key);
    recent.push(this.#now().getTime());
    if (recent.length > this.#limit) recent.shift();
    // Refresh the key's place so the least recently failing clients are forgotten first.
    this.#failures.delete(key);
    this.#failures.set(key, recent);
    if (this.#failures.size > this.#maxClients) this.#failures.delete(this.#failures.keys().next().value!);
  }

  #recent(key: string): number[] {
    const since = this.#now().getTime() - this.#windowMs;
    const recent = (this.#failures.get(key) ?? []).filter((t) => t > since);
    if (recent.length === 0) this.#failures.delete(key);
    return recent;
  }
}

/** The 429 answer, in the shape of the surface that sends it. */
export function tooManyFailures(reply: FastifyReply, seconds: number, body: unknown): FastifyReply {
  return reply.status(429).header('retry-after', String(seconds)).header('cache-control', 'no-store').send(body);
}
