import { describe, expect, it } from 'vitest';
import { htuMatches, normalizeHtu } from './dpop-htu.ts';

describe('htu normalization (RFC 9449 §4.3, RFC 3986 §6.2)', () => {
  it.each([
    ['HTTPS://Example.COM/a', 'https://example.com/a'],
    ['https://example.com:443/a', 'https://example.com/a'],
    ['http://example.com:80/a', 'http://example.com/a'],
    ['https://example.com:8443/a', 'https://example.com:8443/a'],
    ['https://example.com', 'https://example.com/'],
    ['https://example.com/a/./b/../c', 'https://example.com/a/c'],
    ['https://example.com/%7euser/%2fx/%41', 'https://example.com/~user/%2Fx/A'],
    ['https://example.com/a?b=c#d', 'https://example.com/a'],
  ])('normalizes %s to %s', (input, expected) => {
    expect(normalizeHtu(input)).toBe(expected);
  });

  it('refuses what is not an http(s) URI, or carries user information', () => {
    for (const input of ['/oauth/token', 'ftp://example.com/a', 'https://u:p@example.com/a', 'not a url']) {
      expect(normalizeHtu(input)).toBeUndefined();
    }
  });

  it('keeps the path case-sensitive and the scheme significant', () => {
    expect(htuMatches('https://example.com/A', 'https://example.com/a')).toBe(false);
    expect(htuMatches('http://example.com/a', 'https://example.com/a')).toBe(false);
    expect(htuMatches('https://example.com/a/', 'https://example.com/a')).toBe(false);
  });
});
