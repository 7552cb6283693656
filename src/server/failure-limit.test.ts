import { describe, expect, it } from 'vitest';
import { FailureLimit } from './failure-limit.ts';

describe('the brute-force brake', () => {
  const clock = (start = Date.parse('2026-12-02T10:00:00Z')) => {
    let t = start;
    return { now: () => new Date(t), advance: (seconds: number) => (t += seconds * 1000) };
  };

  it('holds a client back after `limit` failures until its oldest failure leaves the window', () => {
    const { now, advance } = clock();
    const limit = new FailureLimit({ limit: 3, windowSeconds: 60, now });
    limit.failed('a');
    advance(10);
    limit.failed('a');
    limit.failed('a');
    expect(limit.retryAfter('a')).toBe(50);
    expect(limit.retryAfter('b')).toBe(0);
    advance(49);
    expect(limit.retryAfter('a')).toBe(1);
    advance(1);
    expect(limit.retryAfter('a')).toBe(0);
    limit.failed('a');
    expect(limit.retryAfter('a')).toBe(10);
  });

  it('is off with a limit of 0', () => {
    const limit = new FailureLimit({ limit: 0, windowSeconds: 60, now: () => new Date() });
    for (let i = 0; i < 100; i++) limit.failed('a');
    expect(limit.retryAfter('a')).toBe(0);
  });

  it('forgets the least recently failing clients first when it holds too many', () => {
    const { now } = clock();
    const limit = new FailureLimit({ limit: 1, windowSeconds: 60, now, maxClients: 2 });
    limit.failed('a');
    limit.failed('b');
    limit.failed('a');
    limit.failed('c');
    expect([limit.retryAfter('a'), limit.retryAfter('b'), limit.retryAfter('c')]).toEqual([60, 0, 60]);
  });
});
