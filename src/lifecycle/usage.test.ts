import { describe, expect, it } from 'vitest';
import { covers, unusedItems, usedAs } from './usage.ts';

describe('least privilege from the trail', () => {
  it('reads what a call used from its trail label', () => {
    expect(usedAs({ action: 'tools/call', resource: 'github/create_issue' })).toBe('tool:github/create_issue');
    expect(usedAs({ action: 'http:request', resource: 'billing GET /v1/invoices/42' })).toBe('http:billing:GET:/v1/invoices/42');
    expect(usedAs({ action: 'http:request', resource: 'not a label' })).toBeUndefined();
  });

  it('lets a toolset pattern cover the uses it grants, one segment per * and any depth for **', () => {
    expect(covers('tool:github/*', 'tool:github/create_issue')).toBe(true);
    expect(covers('tool:github/create_issue', 'tool:github/create_issue')).toBe(true);
    expect(covers('tool:github/create_*', 'tool:gitlab/create_issue')).toBe(false);
    expect(covers('http:billing:GET:/v1/*', 'http:billing:GET:/v1/invoices/42')).toBe(false);
    expect(covers('http:billing:GET:/v1/**', 'http:billing:GET:/v1/invoices/42')).toBe(true);
    expect(covers('http:billing:GET:/v1/**', 'http:billing:POST:/v1/invoices')).toBe(false);
    expect(covers('tool:a.b/c', 'tool:aXb/c')).toBe(false);
  });

  it('suggests exactly the items no use covers', () => {
    const toolset = ['tool:everything/echo', 'tool:everything/get-sum', 'http:billing:GET:/v1/**'];
    expect(unusedItems(toolset, ['tool:everything/echo', 'http:billing:GET:/v1/x'])).toEqual(['tool:everything/get-sum']);
    expect(unusedItems(toolset, [])).toEqual(toolset);
  });
});
