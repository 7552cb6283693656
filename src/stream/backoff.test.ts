import { describe, expect, it } from 'vitest';
import { BACKOFF_MAX_MS, backoffMs } from './backoff.ts';

describe('backoff between delivery attempts', () => {
  it('doubles from 250 ms up to 30 s, each wait between half and all of its ceiling', () => {
    expect([1, 2, 3, 4].map((n) => backoffMs(n, () => 1))).toEqual([250, 500, 1000, 2000]);
    expect([1, 2, 3, 4].map((n) => backoffMs(n, () => 0))).toEqual([125, 250, 500, 1000]);
    expect(backoffMs(50, () => 1)).toBe(BACKOFF_MAX_MS);
    expect(backoffMs(50, () => 0)).toBe(BACKOFF_MAX_MS / 2);
  });
});
