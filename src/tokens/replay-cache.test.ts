import { describe, expect, it } from 'vitest';
import { InMemoryReplayCache } from './replay-cache.ts';

describe('the in-memory DPoP replay cache', () => {
  it('stores a key once and refuses it again until it expires', async () => {
    let now = new Date('2026-11-23T10:00:00Z');
    const t = now.getTime() / 1000;
    const cache = new InMemoryReplayCache({ now: () => now });
    expect(await cache.checkAndStore('a', t + 60)).toBe(true);
    expect(await cache.checkAndStore('a', t + 60)).toBe(false);
    now = new Date((t + 60) * 1000);
    expect(await cache.checkAndStore('a', t + 120)).toBe(true);
  });

  it('prunes expired entries when full and fails closed when every entry is live', async () => {
    let now = new Date('2026-11-23T10:00:00Z');
    const t = now.getTime() / 1000;
    const cache = new InMemoryReplayCache({ now: () => now, maxEntries: 2 });
    await cache.checkAndStore('a', t + 10);
    await cache.checkAndStore('b', t + 100);
    await expect(cache.checkAndStore('c', t + 100)).rejects.toMatchObject({ code: 'ERR_DPOP_REPLAY_CACHE_FULL', status: 503 });
    now = new Date((t + 10) * 1000);
    expect(await cache.checkAndStore('c', t + 100)).toBe(true);
    expect(cache.size).toBe(2);
  });
});
