import { describe, expect, it } from 'vitest';
import { FollowedCache } from './followed-cache.ts';

const feed = () => ({ synchronized: true, epoch: 0 });

describe('a cache the change feed keeps current', () => {
  it('reads once, then answers from memory until its time is up', async () => {
    const cache = new FollowedCache<string>(feed(), { ttlMs: 1_000 });
    let reads = 0;
    const load = async () => `v${++reads}`;
    expect(await cache.get('k', load, undefined, 0)).toBe('v1');
    expect(await cache.get('k', load, undefined, 999)).toBe('v1');
    expect(await cache.get('k', load, undefined, 1_000)).toBe('v2');
  });

  it('does not keep a value read while a change was applied', async () => {
    const state = feed();
    const cache = new FollowedCache<string>(state);
    let reads = 0;
    await cache.get('k', async () => {
      state.epoch++; // a revocation lands while the row is being read
      return `v${++reads}`;
    });
    expect(await cache.get('k', async () => `v${++reads}`)).toBe('v2');
  });

  it('answers nothing from memory while the replica is not synchronized', async () => {
    const state = feed();
    const cache = new FollowedCache<string>(state);
    let reads = 0;
    await cache.get('k', async () => `v${++reads}`);
    state.synchronized = false;
    expect(await cache.get('k', async () => `v${++reads}`)).toBe('v2');
    expect(cache.size).toBe(1);
  });

  it('keeps a value only as long as `keep` says, and not at all when it says null', async () => {
    const cache = new FollowedCache<boolean>(feed(), { ttlMs: 10_000 });
    let reads = 0;
    const load = async () => (++reads, reads % 2 === 1);
    await cache.get('live', load, (live) => (live ? 500 : null), 0);
    expect(await cache.get('live', load, (live) => (live ? 500 : null), 400)).toBe(true);
    expect(await cache.get('live', load, (live) => (live ? 500 : null), 500)).toBe(false);
    expect(cache.size).toBe(0);
  });
});
