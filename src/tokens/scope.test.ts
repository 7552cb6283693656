import { describe, expect, it } from 'vitest';
import { covers, formatScope, intersect, narrow, parseScope, parseScopeItem, parseScopeRequest, permits } from './scope.ts';

const item = parseScopeItem;
const invalid = (text: string, why: string) =>
  expect(() => parseScope(text)).toThrowError(
    expect.objectContaining({ code: 'ERR_SCOPE_INVALID', status: 400, message: expect.stringContaining(why) }),
  );

describe('the scope grammar', () => {
  it('parses tool and http items', () => {
    expect(parseScope('tool:github/create_issue tool:github/* http:stripe:*:/v1/** http:gh:GET:/')).toEqual([
      { kind: 'tool', server: 'github', tool: 'create_issue' },
      { kind: 'tool', server: 'github', tool: '*' },
      { kind: 'http', connection: 'stripe', method: '*', path: ['v1', '**'] },
      { kind: 'http', connection: 'gh', method: 'GET', path: [] },
    ]);
  });

  it('normalizes percent-encoding, keeps colons in paths and drops duplicates', () => {
    const items = parseScope('http:c:GET:/%7ea/%2f/a:b  http:c:GET:/~a/%2F/a:b');
    expect(formatScope(items)).toBe('http:c:GET:/~a/%2F/a:b');
  });

  it('refuses unknown items, naming the item', () => {
    invalid('tool:github/x admin', '"admin"');
    invalid('openid', '"openid"');
  });

  it('refuses malformed tool items', () => {
    invalid('tool:github', 'expected tool:<server>/<tool>');
    invalid('tool:/x', 'expected tool:<server>/<tool>');
    invalid('tool:github/a/b', 'tool must be');
    invalid('tool:github/cre*', 'tool must be');
    invalid('tool:*/x', 'expected tool:<server>/<tool>');
  });

  it('refuses malformed http items', () => {
    invalid('http:c:get:/a', 'METHOD must be upper case');
    invalid('http:c:GET', 'expected http:');
    invalid('http:c:GET:a/b', 'must start with /');
    invalid('http:c:GET:/a//b', 'segment 2');
    invalid('http:c:GET:/a/', 'segment 2');
    invalid('http:c:GET:/a/**/b', '** may only be the last segment');
    invalid('http:c:GET:/a*', 'segment 1');
    invalid('http:c:GET:/a/../admin', 'dot segments');
    invalid('http:c:GET:/a/%2e%2E/admin', 'dot segments');
    invalid('http:c:GET:/a%zz', 'segment 1');
  });

  it('bounds the size of a scope', () => {
    invalid(Array.from({ length: 257 }, (_, i) => `tool:s/t${i}`).join(' '), 'at most 256');
    invalid(`tool:s/${'x'.repeat(1100)}`, 'longer than');
  });

  it('parses concrete requests and refuses wildcards in them', () => {
    expect(parseScopeRequest('http:c:GET:/a/b')).toEqual({ kind: 'http', connection: 'c', method: 'GET', path: ['a', 'b'] });
    for (const text of ['tool:s/*', 'http:c:*:/a', 'http:c:GET:/a/*', 'http:c:GET:/**']) {
      expect(() => parseScopeRequest(text)).toThrowError(expect.objectContaining({ code: 'ERR_SCOPE_INVALID' }));
    }
  });
});

describe('scope containment', () => {
  it.each([
    ['tool:s/*', 'tool:s/x', true],
    ['tool:s/x', 'tool:s/*', false],
    ['tool:s/*', 'tool:t/x', false],
    ['tool:s/x', 'http:s:GET:/x', false],
    ['http:c:*:/a/**', 'http:c:GET:/a/b/c', true],
    ['http:c:*:/a/**', 'http:c:GET:/a', true],
    ['http:c:*:/a/**', 'http:c:GET:/ab', false],
    ['http:c:*:/a/**', 'http:d:GET:/a/b', false],
    ['http:c:GET:/a/**', 'http:c:*:/a/b', false],
    ['http:c:*:/a/*', 'http:c:GET:/a/b', true],
    ['http:c:*:/a/*', 'http:c:GET:/a/b/c', false],
    ['http:c:*:/a/*', 'http:c:GET:/a/**', false],
    ['http:c:*:/a/**', 'http:c:GET:/a/*/c/**', true],
    ['http:c:*:/*/**', 'http:c:GET:/**', false],
    ['http:c:*:/**', 'http:c:GET:/', true],
    ['http:c:GET:/a/b', 'http:c:GET:/a/*', false],
  ])('%s covers %s: %s', (granted, wanted, expected) => {
    expect(covers(item(granted), item(wanted))).toBe(expected);
  });

  it('grants the requested items every limit covers and names the rest', () => {
    const requested = parseScope('tool:github/create_issue tool:github/delete_repo http:gh:GET:/repos/o/r');
    const parent = parseScope('tool:github/* http:gh:GET:/repos/**');
    const card = parseScope('tool:github/create_issue tool:github/list_issues http:gh:*:/**');
    const { granted, refused } = intersect(requested, parent, card);
    expect(formatScope(granted)).toBe('tool:github/create_issue http:gh:GET:/repos/o/r');
    expect(formatScope(refused)).toBe('tool:github/delete_repo');
  });

  it('permits a concrete call only when an item of the scope covers it', () => {
    const scope = parseScope('tool:github/* http:gh:GET:/repos/*/issues/**');
    expect(permits(scope, 'tool:github/create_issue')).toBe(true);
    expect(permits(scope, 'tool:slack/post')).toBe(false);
    expect(permits(scope, 'http:gh:GET:/repos/r/issues/1/comments')).toBe(true);
    expect(permits(scope, 'http:gh:POST:/repos/r/issues')).toBe(false);
    expect(permits(scope, 'http:gh:GET:/repos/r/pulls')).toBe(false);
    expect(() => permits(scope, 'http:gh:GET:/repos/r/issues/../../admin')).toThrowError(
      expect.objectContaining({ code: 'ERR_SCOPE_INVALID' }),
    );
  });
});

describe('narrowing to a finer limit (a person\'s entitlements)', () => {
  const narrowed = (asked: string, limit: string) => formatScope(narrow(parseScope(asked), parseScope(limit)));

  it('keeps what the limit covers whole, and puts finer limit items in place of wider asks', () => {
    expect(narrowed('tool:gh/*', 'tool:gh/read tool:jira/*')).toBe('tool:gh/read');
    expect(narrowed('tool:gh/read tool:jira/list', 'tool:gh/* tool:jira/*')).toBe('tool:gh/read tool:jira/list');
    expect(narrowed('http:api:*:/v1/**', 'http:api:GET:/v1/invoices/**')).toBe('http:api:GET:/v1/invoices/**');
  });

  it('never widens: what neither covers is dropped, and nothing outside the ask comes in', () => {
    expect(narrowed('tool:gh/read', 'tool:jira/*')).toBe('');
    expect(narrowed('tool:gh/read', 'tool:gh/write')).toBe('');
    expect(narrowed('http:api:GET:/v1/a/**', 'http:api:*:/v1/b/**')).toBe('');
  });

  it('keeps no item that another kept item already covers', () => {
    expect(narrowed('tool:gh/* tool:gh/read', 'tool:gh/*')).toBe('tool:gh/*');
  });
});
